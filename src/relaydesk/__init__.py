"""Relaydesk: deflect what self-service can solve, escalate the rest to the right person fast."""

__version__ = "0.1.0"
