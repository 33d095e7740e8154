"""Jobs and inbound steps of the escalation domain (imported by ``jobs.discover_tasks``)."""

from __future__ import annotations

# Importing registers the ``phrase_rules`` policy kind and the inbound step at order 10.
from relaydesk.escalation import phrases as phrases
