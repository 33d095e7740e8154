"""The SLA tests' world: short targets on a 24-hour calendar and an office calendar of their own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from relaydesk.db import Database
from relaydesk.settings import reset_settings_cache

ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BUSINESS_HOURS: dict[str, Any] = {
    "calendars": {
        "always": {"time_zone": "UTC", "hours": {d: ["00:00-24:00"] for d in ALL_DAYS}},
        "office": {
            "time_zone": "Europe/London",
            "hours": {d: ["09:00-17:00"] for d in ALL_DAYS[:5]},
            "holidays": "GB",
            "subdivision": "ENG",
        },
    }
}
SLA: dict[str, Any] = {
    "at_risk_share": 0.75,
    "policies": [
        {
            "name": "urgent",
            "match": {"priority": ["urgent"]},
            "calendar": "always",
            "targets": {"first_response": "45m", "next_response": "20m", "resolution": "4h"},
        },
        {
            "name": "escalated",
            "match": {"escalation_level": ["tier2"]},
            "calendar": "always",
            "targets": {"first_response": "1h", "resolution": "8h", "acknowledgement": "15m"},
        },
        {
            "name": "web_form",
            "match": {"channel": ["web_form"]},
            "calendar": "office",
            "targets": {"first_response": "1h", "resolution": "16h"},
        },
        {
            "name": "default",
            "calendar": "always",
            "targets": {
                "first_response": "1h",
                "next_response": "30m",
                "periodic_update": "2h",
                "resolution": "8h",
            },
        },
    ],
}


@pytest.fixture
def sla_policies(tmp_path: Path, database: Database) -> Iterator[Path]:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "business_hours.yaml").write_text(
        yaml.safe_dump({"kind": "business_hours", "spec": BUSINESS_HOURS})
    )
    (folder / "sla.yaml").write_text(yaml.safe_dump({"kind": "sla", "spec": SLA}))
    os.environ["RELAYDESK_POLICY_DIR"] = str(folder)
    reset_settings_cache()
    yield folder
    os.environ.pop("RELAYDESK_POLICY_DIR", None)
    reset_settings_cache()
