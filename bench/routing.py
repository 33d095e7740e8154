"""Routing decisions on PostgreSQL: push (route a queued ticket to the best agent) and pull (an agent
takes the best waiting ticket), each decision in its own transaction as the routing job does.

    .venv/bin/python bench/routing.py --agents 1000 --tickets 10000 --decisions 500

A fresh database gets 1,000 online agents (levels 1-5 in 2-4 of 8 skills, 1-2 languages, tiers 1-3,
capacities) and 10,000 queued tickets (mixed channels, categories, priorities, languages), inserted in
bulk. Push: ``route_ticket`` on N tickets not yet routed (each makes an offer). Pull: ``next_ticket``
for N agents against the other tickets, already waiting in the routing queue. Prints one JSON line
per mode: decisions per second, p50/p95/p99 latency in ms and the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RELAYDESK_SECRET_KEY", "benchmark-secret-key-0123456789-abcdefghij")

from bench.jobs import _drop, _fresh_database  # noqa: E402
from relaydesk.agents import service as agents  # noqa: E402
from relaydesk.agents.enums import AgentStatus  # noqa: E402
from relaydesk.agents.models import Agent, AgentSkill  # noqa: E402
from relaydesk.customers.enums import CustomerTier  # noqa: E402
from relaydesk.customers.models import Customer  # noqa: E402
from relaydesk.db import Database  # noqa: E402
from relaydesk.db.migrate import upgrade  # noqa: E402
from relaydesk.kit.time import utcnow  # noqa: E402
from relaydesk.routing import service as routing  # noqa: E402
from relaydesk.routing.models import RoutingState  # noqa: E402
from relaydesk.settings import reset_settings_cache  # noqa: E402
from relaydesk.tickets.enums import Channel, Priority, QueueKind, TicketStatus  # noqa: E402
from relaydesk.tickets.models import Ticket  # noqa: E402

SKILLS = ["billing", "shipping", "returns", "technical", "accounts", "orders", "warranty", "sales"]
LANGUAGES = ["en", "de", "fr", "es", "nl"]
CHANNELS = [Channel.EMAIL, Channel.WEB_CHAT, Channel.IN_APP, Channel.PHONE, Channel.SMS, Channel.WEB_FORM]
LIVE = {Channel.WEB_CHAT, Channel.IN_APP, Channel.PHONE}
PRIORITIES = [Priority.LOW, Priority.NORMAL, Priority.NORMAL, Priority.HIGH, Priority.URGENT]
POLICY: dict[str, Any] = {
    "mode": "offer",
    "live": {"channels": ["web_chat", "in_app", "phone"], "present_minutes": 10, "tiers": ["vip"]},
    "categories": {f"{skill}_question": {"skill": skill, "min_level": 2} for skill in SKILLS},
    "weights": {"phone": 3, "web_chat": 2, "in_app": 2, "email": 1},
    "default_capacity": {"web_chat": 6, "in_app": 6, "phone": 3, "email": 10, "api": 10},
}


def _setup(
    database: Database, n_agents: int, n_tickets: int, rng: random.Random
) -> tuple[list[int], list[int]]:
    """Bulk-inserts agents, customers, queued tickets; returns (agent ids, ticket ids)."""
    now = utcnow()
    with database.transaction() as session:
        agent_rows = [
            {
                "email": f"agent{i}@bench.example",
                "name": f"Agent {i}",
                "tier_level": rng.choice([1, 1, 2, 3]),
                "languages": rng.sample(LANGUAGES, rng.choice([1, 2])),
                "capacity": {"web_chat": rng.choice([3, 6]), "email": rng.choice([10, 20])},
                "status": AgentStatus.ONLINE,
                "status_changed_at": now - timedelta(minutes=rng.randrange(600)),
            }
            for i in range(n_agents)
        ]
        agent_ids = list(session.scalars(insert(Agent).returning(Agent.id), agent_rows))
        skill_rows = [
            {"agent_id": agent_id, "skill": skill, "level": rng.randint(1, 5)}
            for agent_id in agent_ids
            for skill in rng.sample(SKILLS, rng.randint(2, 4))
        ]
        session.execute(insert(AgentSkill), skill_rows)
        customer_rows = [
            {"name": f"Customer {i}", "tier": CustomerTier.VIP if i % 20 == 0 else CustomerTier.STANDARD}
            for i in range(max(1, n_tickets // 5))
        ]
        customer_ids = list(session.scalars(insert(Customer).returning(Customer.id), customer_rows))
        ticket_rows = []
        for i in range(n_tickets):
            channel = rng.choice(CHANNELS)
            ticket_rows.append(
                {
                    "subject": f"Ticket {i}",
                    "customer_id": rng.choice(customer_ids),
                    "status": TicketStatus.QUEUED,
                    "priority": rng.choice(PRIORITIES),
                    "category": rng.choice([*(f"{s}_question" for s in SKILLS), None]),
                    "channel": channel,
                    "reply_channel": channel,
                    "language": rng.choice(LANGUAGES),
                    "created_at": now - timedelta(minutes=rng.randrange(240)),
                }
            )
        ticket_ids = list(session.scalars(insert(Ticket).returning(Ticket.id), ticket_rows))
    return agent_ids, ticket_ids


def _queue_directly(database: Database, ticket_ids: list[int]) -> None:
    """Puts tickets in the routing queue in bulk, with the fields ``route_ticket`` copies (pull's world)."""
    policy_categories = POLICY["categories"]
    now = utcnow()
    with database.transaction() as session:
        tickets = session.execute(
            select(
                Ticket.id,
                Ticket.channel,
                Ticket.priority,
                Ticket.category,
                Ticket.language,
                Ticket.customer_id,
            ).where(Ticket.id.in_(ticket_ids))
        ).all()
        rows = []
        for t in tickets:
            rule = policy_categories.get(t.category or "")
            queue = (
                QueueKind.LIVE if t.channel in LIVE or t.priority is Priority.URGENT else QueueKind.MESSAGING
            )
            rows.append(
                {
                    "ticket_id": t.id,
                    "queue": queue,
                    "waiting": True,
                    "channel": t.channel,
                    "priority_rank": t.priority.rank,
                    "vip": False,
                    "due_at": now + timedelta(minutes=(t.id * 7) % 480),
                    "queued_at": now - timedelta(minutes=(t.id * 3) % 240),
                    "customer_id": t.customer_id,
                    "team_id": None,
                    "skill": rule["skill"] if rule else None,
                    "min_level": rule["min_level"] if rule else 1,
                    "language": t.language,
                    "tier_level": 1,
                    "excluded_agent_ids": [],
                }
            )
        session.execute(insert(RoutingState), rows)
        for queue in (QueueKind.LIVE, QueueKind.MESSAGING):
            session.execute(
                Ticket.__table__.update()
                .where(Ticket.id.in_([r["ticket_id"] for r in rows if r["queue"] is queue]))
                .values(queue=queue)
            )
        session.execute(text("ANALYZE"))


def _summary(
    mode: str, latencies: list[float], wall: float, decided: int, load_before: float
) -> dict[str, Any]:
    ms = sorted(x * 1000 for x in latencies)
    cut = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "mode": mode,
        "decisions": len(ms),
        "decided": decided,
        "per_s": round(len(ms) / wall),
        "p50_ms": round(cut[49], 2),
        "p95_ms": round(cut[94], 2),
        "p99_ms": round(cut[98], 2),
        "max_ms": round(ms[-1], 2),
        # The machine's 1-minute load average before and after the run: the cores are shared.
        "load_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    url, handle = _fresh_database("postgresql", Path(tempfile.gettempdir()), args.database_url)
    rng = random.Random(21)
    results: list[dict[str, Any]] = []
    try:
        upgrade(url)
        database = Database(url)
        started = time.perf_counter()
        agent_ids, ticket_ids = _setup(database, args.agents, args.tickets, rng)
        push_ids = ticket_ids[: args.decisions]
        _queue_directly(database, ticket_ids[args.decisions :])
        setup_s = time.perf_counter() - started

        latencies, offered = [], 0
        load_before = os.getloadavg()[0]
        wall = time.perf_counter()
        for ticket_id in push_ids:
            begin = time.perf_counter()
            with database.transaction() as session:
                decision = routing.route_ticket(session, ticket_id)
            latencies.append(time.perf_counter() - begin)
            offered += decision is not None and decision.agent_id is not None
        results.append(
            _summary("push route_ticket", latencies, time.perf_counter() - wall, offered, load_before)
        )

        latencies, taken = [], 0
        load_before = os.getloadavg()[0]
        wall = time.perf_counter()
        for agent_id in rng.sample(agent_ids, min(args.decisions, len(agent_ids))):
            begin = time.perf_counter()
            with database.transaction() as session:
                ticket = routing.next_ticket(session, agents.get_agent(session, agent_id))
            latencies.append(time.perf_counter() - begin)
            taken += ticket is not None
        results.append(
            _summary("pull next_ticket", latencies, time.perf_counter() - wall, taken, load_before)
        )
        for result in results:
            result |= {
                "agents": args.agents,
                "tickets": args.tickets,
                "setup_s": round(setup_s, 1),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            }
        database.dispose()
    finally:
        _drop(handle)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--decisions", type=int, default=500)
    parser.add_argument("--database-url", help="PostgreSQL server to create the scratch database on")
    args = parser.parse_args()
    if args.decisions >= args.tickets:
        parser.error("--decisions must be smaller than --tickets (the rest form the pull queue)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "routing.yaml").write_text(yaml.safe_dump({"kind": "routing", "spec": POLICY}))
        os.environ["RELAYDESK_POLICY_DIR"] = str(folder)
        reset_settings_cache()
        for result in run(args):
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
