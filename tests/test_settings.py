import pytest

from relaydesk.settings import Environment, Settings, SettingsError, get_settings, reset_settings_cache


def test_production_requires_an_explicit_secret(monkeypatch):
    monkeypatch.setenv("RELAYDESK_ENV", "production")
    monkeypatch.delenv("RELAYDESK_SECRET_KEY", raising=False)
    reset_settings_cache()
    try:
        with pytest.raises(SettingsError, match="RELAYDESK_SECRET_KEY must be set"):
            get_settings()
    finally:
        reset_settings_cache()


def test_bad_values_fail_fast_naming_the_variable(monkeypatch):
    monkeypatch.setenv("RELAYDESK_DATABASE_URL", "mysql://nope")
    monkeypatch.setenv("RELAYDESK_JOB_MAX_ATTEMPTS", "0")
    monkeypatch.setenv("RELAYDESK_KB_QUERY_ENCODER", "int4")
    reset_settings_cache()
    try:
        with pytest.raises(SettingsError) as info:
            get_settings()
    finally:
        reset_settings_cache()
    assert "RELAYDESK_DATABASE_URL" in str(info.value)
    assert "RELAYDESK_JOB_MAX_ATTEMPTS" in str(info.value)
    assert "RELAYDESK_KB_QUERY_ENCODER" in str(info.value)


def test_query_encoder_settings_name_what_the_encoder_reads() -> None:
    from typing import get_args

    from relaydesk.ml.embeddings import QUERY_ENCODERS

    assert get_args(Settings.model_fields["query_encoder"].annotation) == QUERY_ENCODERS
    choices, unset = get_args(Settings.model_fields["kb_query_encoder"].annotation)
    assert get_args(choices) == QUERY_ENCODERS and unset is type(None)


def test_local_secret_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("RELAYDESK_SECRET_KEY", raising=False)
    settings = Settings(var_dir=tmp_path, env=Environment.DEVELOPMENT)
    first = settings.secret
    assert len(first) >= 32
    assert Settings(var_dir=tmp_path).secret == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_default_database_is_sqlite_under_var(tmp_path):
    settings = Settings(var_dir=tmp_path, database_url="")
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.as_posix()}/relaydesk.db"


def test_postgres_scheme_is_given_the_psycopg_driver():
    assert Settings(database_url="postgresql://u@h/db").database_url == "postgresql+psycopg://u@h/db"


def test_trusted_proxies_must_be_addresses_or_networks(monkeypatch):
    monkeypatch.setenv("RELAYDESK_TRUSTED_PROXIES", '["10.0.0.5", "10.1.0.0/16", "proxy.internal"]')
    reset_settings_cache()
    try:
        with pytest.raises(SettingsError, match=r"RELAYDESK_TRUSTED_PROXIES.*'proxy\.internal'"):
            get_settings()
    finally:
        reset_settings_cache()
    monkeypatch.delenv("RELAYDESK_TRUSTED_PROXIES")
    assert Settings().trusted_proxies == []  # default: no proxy is believed
