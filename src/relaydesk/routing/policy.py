"""The ``routing`` policy kind: which queue a ticket waits in, who may take it, and the clocks of
offers, overflow and reclaiming (``policies/routing.yaml``; see that folder's README)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from relaydesk.customers.enums import CustomerTier
from relaydesk.policies import get_policy, policy_kind
from relaydesk.routing.enums import RoutingMode
from relaydesk.tickets.enums import Channel, Priority, QueueKind

__all__ = ["CategoryRule", "LiveRule", "QueueRule", "RoutingPolicy", "routing_policy"]


class LiveRule(BaseModel):
    """What makes a ticket live work; everything else waits in the messaging queue."""

    model_config = ConfigDict(extra="forbid")

    # Real-time channels: live while the customer is still there.
    channels: list[Channel] = Field(default_factory=lambda: [Channel.WEB_CHAT, Channel.IN_APP, Channel.PHONE])
    # "Still there": the customer wrote within this many minutes (after that they may have left, and
    # the ticket is answered asynchronously like an email).
    present_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # Any channel at these priorities is live.
    priorities: list[Priority] = Field(default_factory=lambda: [Priority.URGENT])
    # Customers of these tiers are live on any channel.
    tiers: list[CustomerTier] = Field(default_factory=lambda: [CustomerTier.VIP])


class QueueRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # How long an agent has to answer an offer before it moves to the next agent.
    offer_timeout_seconds: int = Field(default=60, ge=5, le=24 * 3600)
    # Overflow: after this long waiting, secondary skills (and lower levels) count ...
    widen_skills_after_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    # ... and after this long, the agents of the team's parent team too.
    parent_team_after_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    # Reassign on inaction: an assignee who did nothing on the ticket for this long loses it.
    reclaim_after_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)

    @model_validator(mode="after")
    def _overflow_in_order(self) -> QueueRule:
        widen, parent = self.widen_skills_after_minutes, self.parent_team_after_minutes
        if widen is not None and parent is not None and parent < widen:
            raise ValueError("parent_team_after_minutes must not come before widen_skills_after_minutes")
        return self


class CategoryRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skill: str = Field(min_length=1, max_length=80)
    min_level: int = Field(default=1, ge=1, le=10)
    # Overflow: after ``widen_skills_after_minutes`` these skills (or the skill at a lower level) do.
    secondary_skills: list[str] = Field(default_factory=list, max_length=20)
    secondary_min_level: int = Field(default=1, ge=1, le=10)

    @field_validator("skill")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("secondary_skills")
    @classmethod
    def _lower_all(cls, values: list[str]) -> list[str]:
        return [v.strip().lower() for v in values]


_CUSTOMER_CHANNELS: tuple[Channel, ...] = tuple(c for c in Channel if c is not Channel.INTERNAL)


@policy_kind("routing")
class RoutingPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: RoutingMode = RoutingMode.OFFER
    live: LiveRule = Field(default_factory=LiveRule)
    queues: dict[QueueKind, QueueRule] = Field(
        default_factory=lambda: {
            QueueKind.LIVE: QueueRule(offer_timeout_seconds=30),
            QueueKind.MESSAGING: QueueRule(offer_timeout_seconds=300),
        }
    )
    # Category -> the skill (and minimum level) an agent needs; a category not listed needs none.
    categories: dict[str, CategoryRule] = Field(default_factory=dict)
    # Load weighting: what one open ticket on a channel counts for (one call counts as several emails).
    weights: dict[Channel, int] = Field(
        default_factory=lambda: {Channel.PHONE: 3, Channel.WEB_CHAT: 2, Channel.IN_APP: 2}
    )
    default_weight: int = Field(default=1, ge=1, le=100)
    # An agent's capacity for a channel when ``Agent.capacity`` does not name it (0: never that channel).
    default_capacity: dict[Channel, int] = Field(default_factory=lambda: dict.fromkeys(_CUSTOMER_CHANNELS, 6))
    # Prefer a returning customer's previous agent (when eligible) for a new ticket within this window.
    previous_agent_days: int = Field(default=30, ge=0, le=365)
    # Recent handled tickets per queue that the expected wait is computed from.
    wait_sample: int = Field(default=50, ge=5, le=1000)

    @field_validator("queues")
    @classmethod
    def _routed_queues(cls, queues: dict[QueueKind, QueueRule]) -> dict[QueueKind, QueueRule]:
        unknown = sorted(q.value for q in queues if q not in (QueueKind.LIVE, QueueKind.MESSAGING))
        if unknown:
            raise ValueError(f"routing configures the live and messaging queues only, not {unknown}")
        return queues

    def queue_rule(self, queue: QueueKind) -> QueueRule:
        return self.queues.get(queue) or QueueRule()

    def weight(self, channel: Channel) -> int:
        return self.weights.get(channel, self.default_weight)


def routing_policy() -> RoutingPolicy:
    """The shipped or configured routing policy; built-in defaults when the folder has none."""
    return get_policy("routing", RoutingPolicy) or RoutingPolicy()
