"""Typed settings read from the environment (prefix ``RELAYDESK_``) and fail fast on bad values."""

from __future__ import annotations

import ipaddress
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "Environment",
    "ImapMailbox",
    "MailSecurity",
    "Settings",
    "SettingsError",
    "get_settings",
    "reset_settings_cache",
]


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the message names the variable and what to fix."""


class MailSecurity(StrEnum):
    """How Relaydesk talks to a mail server: implicit TLS, STARTTLS upgrade, or plain (local only)."""

    SSL = "ssl"
    STARTTLS = "starttls"
    NONE = "none"


class ImapMailbox(BaseModel):
    """One IMAP mailbox polled for customer mail (RELAYDESK_EMAIL_IMAP_MAILBOXES is a JSON list)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(default=993, gt=0, lt=65536)
    security: MailSecurity = MailSecurity.SSL
    user: str = Field(min_length=1)
    password: SecretStr
    folder: str = "INBOX"
    # After a message is committed: flag it \Seen, or move it to move_to.
    after: Literal["seen", "move"] = "seen"
    move_to: str = "Relaydesk"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RELAYDESK_", extra="ignore", frozen=True)

    env: Environment = Environment.DEVELOPMENT
    var_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str | None = None
    # Every real-time channel name in Redis starts with this: deployments (or test runs) that share one
    # Redis server keep their events apart by giving each its own prefix.
    redis_channel_prefix: str = Field(default="relaydesk:", min_length=1, max_length=64)
    secret_key: SecretStr | None = None
    policy_dir: Path = Path("policies")
    upload_dir: Path | None = None
    base_url: str = "http://127.0.0.1:8000"

    # Limits: inputs from outside are bounded at the edge.
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    # Any request body (and WebSocket message) but a file upload; counted on the stream, before
    # authentication and parsing (relaydesk/web/limits.py).
    max_request_bytes: int = Field(default=1024 * 1024, gt=0)
    max_attachments_per_message: int = Field(default=20, gt=0)
    max_message_chars: int = Field(default=50_000, gt=0)
    page_size_max: int = Field(default=200, gt=0)

    # Durable jobs.
    job_lease_seconds: float = Field(default=60.0, gt=0)
    job_max_attempts: int = Field(default=8, gt=0)
    job_backoff_base_seconds: float = Field(default=2.0, gt=0)
    job_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    job_poll_seconds: float = Field(default=0.5, gt=0)
    job_batch_size: int = Field(default=32, gt=0)

    # Sign-in (src/relaydesk/auth/README.md). A session ends at its absolute age, after this long
    # without a request, at logout, or when its agent is signed out everywhere.
    session_max_age_seconds: int = Field(default=12 * 3600, gt=0)
    # Reverse proxies (addresses or networks) whose X-Forwarded-For / X-Forwarded-Proto are believed.
    # Empty: none, the peer's own address is the client's (rate limits, logs), even from loopback.
    trusted_proxies: list[str] = Field(default_factory=list)
    # The API reference pages /docs and /redoc; unset: on, except in production.
    docs_enabled: bool | None = None
    session_idle_seconds: int = Field(default=2 * 3600, gt=0)
    # Wrong passwords: an account is locked after this many in a row (for login_lockout_seconds,
    # doubling with each further lock up to login_lockout_max_seconds, or until an admin unlocks it);
    # a client address is held back the same way after its own, larger count within the window.
    login_account_max_failures: int = Field(default=10, gt=0)
    login_address_max_failures: int = Field(default=50, gt=0)
    login_failure_window_seconds: int = Field(default=15 * 60, gt=0)
    login_lockout_seconds: int = Field(default=15 * 60, gt=0)
    login_lockout_max_seconds: int = Field(default=24 * 3600, gt=0)
    # Password hashes verified at once (argon2 takes a core each): the rest wait without a thread.
    password_hash_concurrency: int = Field(default=2, gt=0)
    # The demo shop pages (/chat/demo): on for `relaydesk demo --serve`, never in production.
    demo_enabled: bool = False

    # SMS gateway (Twilio-compatible webhook signatures and send API). Unset: the channel is off.
    sms_auth_token: SecretStr | None = None
    sms_account_sid: str | None = None
    sms_from_number: str | None = None
    sms_api_base: str = "https://api.twilio.com"
    # Social messaging (Messenger/WhatsApp-style verify-token handshake and X-Hub-Signature-256).
    social_app_secret: SecretStr | None = None
    social_verify_token: SecretStr | None = None
    social_page_token: SecretStr | None = None
    social_api_base: str = "https://graph.facebook.com/v19.0"
    # Telephony provider call events: JSON signed with X-Relaydesk-Signature (HMAC-SHA256, hex).
    phone_webhook_secret: SecretStr | None = None
    # Public webhooks: at most this many requests per client address per minute.
    webhook_rate_per_minute: int = Field(default=600, gt=0)
    webhook_max_body_bytes: int = Field(default=256 * 1024, gt=0)
    # A webhook body whose signature did not verify (or could not be checked) is anyone's: only its
    # digest, size and first bytes are kept, and at most this many held inputs per source.
    quarantine_unverified_keep_bytes: int = Field(default=4096, gt=0)
    quarantine_unverified_cap_per_source: int = Field(default=1000, gt=0)
    # Web chat and in-app messaging (public): requests (and WebSocket connects) per client address
    # per minute, messages per visitor per minute, WebSocket frames per connection per minute.
    chat_requests_per_minute: int = Field(default=300, gt=0)
    chat_messages_per_minute: int = Field(default=30, gt=0)
    chat_frames_per_minute: int = Field(default=240, gt=0)
    # New visitor tokens per client address per minute: a fresh token must not reset the per-visitor
    # message limit at will.
    chat_new_visitors_per_minute: int = Field(default=20, gt=0)
    chat_max_message_chars: int = Field(default=5000, gt=0)
    chat_max_body_bytes: int = Field(default=32 * 1024, gt=0)

    # Deflection: a suggestion session with no ticket from that customer within the window counts
    # as deflected; a holdout share of sessions is shown nothing, to measure what happens anyway.
    deflection_window_days: float = Field(default=3.0, gt=0)
    deflection_holdout_share: float = Field(default=0.0, ge=0.0, le=1.0)
    deflection_rate_per_minute: int = Field(default=240, gt=0)
    # KB-gap clusters: queries closer than this cosine distance (average linkage) share a cluster.
    deflection_gap_distance: float = Field(default=0.45, gt=0.0, lt=2.0)
    # The chat site whose brand (name, logo, colours, shop link) and chat widget the help center shows,
    # by public key; empty: the oldest active site.
    help_center_site: str = Field(default="", max_length=64)

    # One text through the sentence encoder (src/relaydesk/ml/README.md; the same names as
    # relaydesk.ml.embeddings.QUERY_ENCODERS, which reads them): every one-text encoding, and
    # knowledge-search queries alone where the second is set.
    query_encoder: Literal["auto", "fp32", "int8"] = "auto"
    kb_query_encoder: Literal["auto", "fp32", "int8"] | None = None

    # Classification: a head without an abstain label abstains below the lowest confidence whose
    # cross-validated precision reaches this (per head, chosen at training time).
    classification_target_precision: float = Field(default=0.9, gt=0.0, le=1.0)

    # Email (src/relaydesk/channels/email/README.md). Replies come from the support address; signed
    # reply tokens live on the support domain (default: the support address's domain).
    email_support_address: str = ""
    email_support_domain: str = ""
    # Recipients the built-in SMTP server accepts: addresses (plus-tags allowed) or "@domain"; empty
    # means the support address. Others are refused at RCPT time with 550.
    email_accepted_recipients: list[str] = Field(default_factory=list)
    # authserv-ids of the receiving MTA whose Authentication-Results headers prove a From address
    # (DMARC, or DKIM/SPF aligned with it); that MTA must strip forged headers carrying its id.
    # Empty: no From is ever proven, so mail threads only by signed reply tokens.
    email_trusted_authserv_ids: list[str] = Field(default_factory=list)
    # Bigger messages are refused (552) or quarantined; never more than RELAYDESK_MAX_UPLOAD_BYTES,
    # because the raw message is kept as an attachment.
    email_max_message_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    # `relaydesk serve` also runs the built-in SMTP server when enabled.
    email_smtp_server_enabled: bool = False
    email_smtp_server_host: str = "127.0.0.1"
    email_smtp_server_port: int = Field(default=2525, gt=0, lt=65536)
    # Outbound smarthost; unset host: replies by email fail at once with the reason.
    email_smtp_host: str | None = None
    email_smtp_port: int = Field(default=587, gt=0, lt=65536)
    email_smtp_security: MailSecurity = MailSecurity.STARTTLS
    email_smtp_user: str | None = None
    email_smtp_password: SecretStr | None = None
    email_smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    # IMAP mailboxes polled every minute, at most this many messages per mailbox and pass.
    email_imap_mailboxes: list[ImapMailbox] = Field(default_factory=list)
    email_imap_batch_size: int = Field(default=50, gt=0)
    # Every update to a customer (email, SMS, social) links to their ticket's status page; the link
    # works this long after it was sent (the newest message always carries a fresh one).
    status_link_max_age_days: int = Field(default=90, gt=0)

    # Agent presence (src/relaydesk/agents/README.md): an online agent with no action in the workspace
    # for this many minutes is set to away by the periodic job agents.auto_away (0: never).
    auto_away_minutes: float = Field(default=10.0, ge=0)
    # An agent's last_active_at is written at most once per this many seconds (not on every request).
    agent_activity_write_seconds: int = Field(default=60, gt=0)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        if value.startswith(("postgresql://", "postgres://")):
            # psycopg 3 is the driver we ship; accept the common spelling.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                example = '["10.0.0.5", "10.1.0.0/16"]'
                raise ValueError(f"{entry!r} is not an IP address or network ({example})") from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value or None

    @model_validator(mode="after")
    def _production_needs_secret(self) -> Settings:
        if self.env is Environment.PRODUCTION and self.secret_key is None:
            raise ValueError(
                "RELAYDESK_SECRET_KEY must be set explicitly when RELAYDESK_ENV=production "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if self.env is Environment.PRODUCTION and self.demo_enabled:
            raise ValueError(
                "RELAYDESK_DEMO_ENABLED must be false when RELAYDESK_ENV=production "
                "(the demo pages sign in a known customer)"
            )
        if self.secret_key is not None and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("RELAYDESK_SECRET_KEY must be at least 32 characters long")
        return self

    @property
    def api_docs_enabled(self) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else self.env is not Environment.PRODUCTION

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'relaydesk.db').as_posix()}"

    @property
    def resolved_upload_dir(self) -> Path:
        return self.upload_dir or self.var_dir / "uploads"

    @property
    def secret(self) -> bytes:
        """The signing secret: explicit, or generated once and kept under var/ for local use."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.var_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip().encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"RELAYDESK_{'_'.join(str(p) for p in err['loc']).upper() or 'SETTINGS'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SettingsError(f"Invalid Relaydesk settings: {problems}") from None


def reset_settings_cache() -> None:
    get_settings.cache_clear()
