"""kit.signing: one signer for values that travel outside, salted by purpose, on the injectable clock."""

from datetime import timedelta

import pytest

from relaydesk.kit.signing import ExpiredTokenError, InvalidTokenError, SignedTokens

SECRET = b"a-secret-that-is-long-enough-for-tests-0123"


def test_a_token_is_read_back_only_for_its_own_purpose_and_secret():
    token = SignedTokens(SECRET, "relaydesk.status-page").dumps({"t": 7})
    assert SignedTokens(SECRET, "relaydesk.status-page").loads(token, max_age_seconds=60) == {"t": 7}
    with pytest.raises(InvalidTokenError):
        SignedTokens(SECRET, "relaydesk.session").loads(token, max_age_seconds=60)
    with pytest.raises(InvalidTokenError):
        SignedTokens(b"another-secret-that-is-long-enough-0123456", "relaydesk.status-page").loads(
            token, max_age_seconds=60
        )
    with pytest.raises(InvalidTokenError):
        SignedTokens(SECRET, "relaydesk.status-page").loads(token[:-2] + "xx", max_age_seconds=60)


def test_a_token_expires_on_the_clock_relaydesk_runs_on(clock):
    tokens = SignedTokens(SECRET, "test")
    token = tokens.dumps("value")
    clock.advance(timedelta(seconds=59))
    assert tokens.loads(token, max_age_seconds=60) == "value"
    clock.advance(timedelta(seconds=2))
    with pytest.raises(ExpiredTokenError):
        tokens.loads(token, max_age_seconds=60)


def test_an_empty_secret_is_refused():
    with pytest.raises(ValueError, match="must not be empty"):
        SignedTokens(b"", "test")
