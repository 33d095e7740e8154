"""The escalation tests' world: a routing policy and an escalation path of their own, the teams the path
names (Support; Legal, restricted), and tickets routed and held as routing would do it.

Agents, tickets and offers come from the routing tests' builders (``tests/routing/conftest.py``): the
ladder moves ownership through routing, so its tests stand on the same ground.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from relaydesk.db import Database
from relaydesk.escalation import service as escalation
from relaydesk.escalation.models import Escalation
from relaydesk.settings import reset_settings_cache
from relaydesk.tickets.enums import AuthorKind
from relaydesk.tickets.events import Actor
from tests.routing.conftest import BASE_POLICY

# Short targets so scenarios read in minutes.
PATHS: dict[str, Any] = {
    "reasons": [
        {"code": "needs_expertise", "label": "Needs specialist knowledge"},
        {"code": "legal_threat", "label": "Legal threat"},
        {"code": "wrong_team", "label": "Belongs to another team"},
        {"code": "pickup_overdue", "label": "Not picked up in time"},
    ],
    "pickup_overdue_reason": "pickup_overdue",
    "paths": [
        {
            "name": "support",
            "teams": ["Support"],
            "default": True,
            "levels": [
                {"level": "frontline", "team": "Support", "tier": 1, "pickup_minutes": 60},
                {"level": "tier2", "tier": 2, "pickup_minutes": 30},
                {"level": "team_lead", "tier": 2, "role": "lead", "pickup_minutes": 20},
                {"level": "legal", "team": "Legal", "tier": 1, "pickup_minutes": 60},
            ],
        }
    ],
}


@pytest.fixture
def paths(tmp_path: Path, database: Database) -> Iterator[Any]:
    """Writes routing.yaml and escalation_paths.yaml (PATHS updated by the keyword arguments)."""
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "routing.yaml").write_text(yaml.safe_dump({"kind": "routing", "spec": BASE_POLICY}))

    def write(**changes: Any) -> None:
        spec = {**PATHS, **changes}
        target = folder / "escalation_paths.yaml"
        target.write_text(yaml.safe_dump({"kind": "escalation_paths", "spec": spec}))
        os.utime(target)

    write()
    os.environ["RELAYDESK_POLICY_DIR"] = str(folder)
    reset_settings_cache()
    yield write
    os.environ.pop("RELAYDESK_POLICY_DIR", None)
    reset_settings_cache()


def as_agent(agent_id: int) -> Actor:
    return Actor(AuthorKind.AGENT, agent_id)


def moves_of(db: Database, ticket_id: int) -> list[Escalation]:
    """The ticket's escalation history, oldest first (through the service, as screens read it)."""
    with db.transaction() as session:
        found = escalation.history(session, ticket_id)
        session.expunge_all()
        return found
