"""SLA's jobs. Importing this module (``discover_tasks`` does) registers SLA's policy kinds too."""

from __future__ import annotations

import relaydesk.sla.policy  # noqa: F401  (registers business_hours and sla for `relaydesk policy check`)
