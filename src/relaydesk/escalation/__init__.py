"""Escalation: the ladder of levels, escalation rules and phrase rules (see README.md)."""

# Imported for what importing does: the ``escalation_paths`` policy kind is registered whenever the
# domain is loaded (relaydesk.models maps its tables), so a policy folder holding it always validates.
from relaydesk.escalation import policy as _policy  # noqa: F401
