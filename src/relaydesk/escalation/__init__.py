"""Escalation: the ladder of levels, escalation rules and phrase rules (see README.md)."""
