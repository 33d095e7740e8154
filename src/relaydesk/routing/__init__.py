"""Routing: queues, offers and assignment (see README.md)."""

# Imported for what importing does: the ``routing`` policy kind is registered whenever the domain is
# loaded (relaydesk.models maps its tables), so a policy folder holding routing.yaml always validates.
from relaydesk.routing import policy as _policy  # noqa: F401
