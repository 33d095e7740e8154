"""Triage of a new ticket: category, team, priority and language from its first customer message.

One call, one transaction, written once per ticket (the ``ticket_triage`` row is the idempotency key):

1. language (lingua, among the policy's languages) and sentiment (lexicon);
2. a prediction per head from the active classifier (``classification.service.predict``); a head
   whose model abstains, falls under the policy's ``min_confidence``, or has no model is not guessed:
   the ticket is flagged ``needs_triage`` and goes to the human triage queue;
3. impact: other customers who reported the same problem recently, and the services the text names;
4. priority: predicted urgency (or the policy default) raised by impact, service, tier and sentiment;
5. the ticket's fields change through ``tickets.update_ticket`` (one event each, actor: the bot) and
   a ``triage.classified`` event records everything above with confidences and model versions;
6. when the category needs details (``required_fields``), the missing-information step (a job the
   category change enqueues) asks for them; otherwise the ticket is ready for routing now.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from relaydesk.agents import service as agents
from relaydesk.classification import service as classification
from relaydesk.customers import service as customers
from relaydesk.jobs import enqueue
from relaydesk.jobs.registry import get_task
from relaydesk.kit.errors import RelaydeskError
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, EscalationLevel, Priority, QueueKind, TicketStatus
from relaydesk.tickets.schemas import StatusChange, TicketUpdate
from relaydesk.triage.impact import Impact, embed_text, measure_impact
from relaydesk.triage.models import TicketTriage, TriageCorrection
from relaydesk.triage.policy import TriagePolicy, required_fields_policy, triage_policy
from relaydesk.triage.repository import TriageRepository
from relaydesk.triage.signals import affected_services, detect_language, score_sentiment, ticket_text

if TYPE_CHECKING:
    from relaydesk.classification.service import Prediction
    from relaydesk.tickets.models import Message, Ticket

__all__ = [
    "NEEDS_TRIAGE_FLAG",
    "ROUTE_JOB",
    "HeadDecision",
    "corrections_of",
    "decide_priority",
    "mark_ready_for_routing",
    "record_category_correction",
    "record_team_correction",
    "triage_new_ticket",
    "triage_of",
]

log = logging.getLogger(__name__)
BOT = tickets.Actor(AuthorKind.BOT)
NEEDS_TRIAGE_FLAG = "needs_triage"
# Routing reacts to a ticket that triage (or the missing-information loop) released; enqueued only
# once a routing domain registers this job, so triage works on its own until then.
ROUTE_JOB = "routing.route_ticket"
# Statuses in which triage may still move the ticket on; an agent who already opened it decides.
_UNTOUCHED = {TicketStatus.NEW, TicketStatus.BOT, TicketStatus.REOPENED}


@dataclass(frozen=True)
class HeadDecision:
    head: str
    label: str | None  # None: a person decides (abstained, too unsure, unknown value, or no model)
    confidence: float | None
    model_version: str | None
    reason: str
    top: list[tuple[str, float]] = field(default_factory=list)
    shadow: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "confidence": self.confidence,
            "abstained": self.label is None,
            "model_version": self.model_version,
            "reason": self.reason,
            "top": [[label, round(score, 4)] for label, score in self.top[:5]],
            "shadow": self.shadow,
        }


def _decide_head(
    session: Session,
    head: str,
    text: str,
    min_confidence: float,
    embedding: npt.NDArray[np.float32] | None,
) -> HeadDecision:
    try:
        prediction = classification.predict(session, head, text, embedding=embedding)
    except RelaydeskError as exc:
        # A version whose artifact went missing must not stop the pipeline: treat it as no model.
        log.error("triage: head %s cannot predict: %s", head, exc.message)
        return HeadDecision(head, None, None, None, f"model unavailable: {exc.message}")
    return _decide(head, prediction, min_confidence)


def _decide(head: str, prediction: Prediction | None, min_confidence: float) -> HeadDecision:
    if prediction is None:
        return HeadDecision(head, None, None, None, "no active model")
    top = [(str(label), float(score)) for label, score in prediction.top]
    shadow = None
    if prediction.shadow is not None:
        shadow = {
            "label": prediction.shadow.label,
            "confidence": round(float(prediction.shadow.confidence), 4),
            "model_version": prediction.shadow.model_version,
        }
    confidence = round(float(prediction.confidence), 4)
    version = prediction.model_version
    if prediction.abstained or prediction.label is None:
        return HeadDecision(head, None, confidence, version, "model abstained", top, shadow)
    if confidence < min_confidence:
        return HeadDecision(
            head, None, confidence, version, f"confidence below the policy's {min_confidence}", top, shadow
        )
    return HeadDecision(head, prediction.label, confidence, version, "predicted", top, shadow)


def decide_priority(
    policy: TriagePolicy,
    urgency: str | None,
    impact: Impact,
    services: list[str],
    service_raise: int,
    tier: str,
    sentiment_label: str,
) -> tuple[Priority, list[str]]:
    """Predicted urgency (or the default) raised by impact, service, tier and sentiment; capped at urgent."""
    base = Priority(urgency or policy.default_priority)
    reasons = [f"urgency {base.value} ({'predicted' if urgency else 'policy default'})"]
    raised = 0
    step = next((s for s in reversed(policy.impact.steps) if impact.similar_customers >= s.customers), None)
    if step is not None and step.raise_priority:
        raised += step.raise_priority
        reasons.append(
            f"+{step.raise_priority}: {impact.similar_customers} other customer(s) reported the same "
            f"problem in the last {policy.impact.window_minutes} minutes"
        )
    if service_raise:
        raised += service_raise
        reasons.append(f"+{service_raise}: affects {', '.join(services)}")
    tier_rule = policy.tiers.get(tier)  # type: ignore[call-overload]
    if tier_rule is not None and tier_rule.raise_priority:
        raised += tier_rule.raise_priority
        reasons.append(f"+{tier_rule.raise_priority}: {tier} customer")
    if sentiment_label == "negative" and policy.sentiment.raise_priority:
        raised += policy.sentiment.raise_priority
        reasons.append(f"+{policy.sentiment.raise_priority}: negative sentiment")
    levels = list(Priority)
    final = levels[min(len(levels) - 1, base.rank + raised)]
    if tier_rule is not None and tier_rule.at_least and Priority(tier_rule.at_least).rank > final.rank:
        final = Priority(tier_rule.at_least)
        reasons.append(f"at least {final.value} for {tier} customers")
    return final, reasons


def _team_decision(session: Session, decision: HeadDecision) -> tuple[HeadDecision, int | None]:
    if decision.label is None:
        return decision, None
    by_name = {team.name.casefold(): team.id for team in agents.list_teams(session)}
    team_id = by_name.get(decision.label.casefold())
    if team_id is None:
        # A model trained on another system's group names: a person picks the team instead.
        return _refused(decision, f"no team named {decision.label!r}"), None
    return decision, team_id


def _needs_person(policy: TriagePolicy, decision: HeadDecision) -> bool:
    rule = policy.heads[decision.head]
    return (rule.on_no_model if decision.model_version is None else rule.on_abstain) == "needs_triage"


def _refused(decision: HeadDecision, reason: str) -> HeadDecision:
    return HeadDecision(
        decision.head,
        None,
        decision.confidence,
        decision.model_version,
        reason,
        decision.top,
        decision.shadow,
    )


def _category_needs_details(category: str | None) -> bool:
    policy = required_fields_policy()
    return bool(category and policy is not None and policy.categories.get(category))


def triage_new_ticket(session: Session, ticket: Ticket, message: Message) -> TicketTriage:
    """Triage ``ticket`` from ``message`` (its first customer message); a second call returns the first."""
    repo = TriageRepository(session)
    existing = repo.for_ticket(ticket.id)
    if existing is not None:
        return existing
    policy = triage_policy()
    text = ticket_text(ticket.subject, message.body_text)

    language = detect_language(text, policy.languages, policy.language_min_confidence)
    sentiment = score_sentiment(text, policy.sentiment.negative_below)
    # One encoding of the text serves every head's model and the impact comparison.
    vector = embed_text(text) if policy.impact.enabled else None
    decisions = {
        head: _decide_head(session, head, text, rule.min_confidence, vector)
        for head, rule in policy.heads.items()
    }
    team_id = None
    if "team" in decisions:
        decisions["team"], team_id = _team_decision(session, decisions["team"])
    urgency = None
    if "priority" in decisions:
        label = decisions["priority"].label
        if label is not None and label not in set(Priority):
            decisions["priority"] = _refused(decisions["priority"], f"{label!r} is not a priority")
        urgency = decisions["priority"].label

    stored = vector.astype(np.float16) if vector is not None else None
    impact = measure_impact(
        session, policy.impact, stored, ticket_id=ticket.id, customer_id=ticket.customer_id
    )
    services = affected_services(text, policy.services)
    tier = customers.get_customer(session, ticket.customer_id).tier.value
    priority, reasons = decide_priority(
        policy,
        urgency,
        impact,
        [s.name for s in services],
        max((s.raise_priority for s in services), default=0),
        tier,
        sentiment.label,
    )
    # A priority set before triage ran (a phrase rule at order 10, an agent) is a floor: never lowered.
    if (
        Priority(ticket.priority).rank > priority.rank
        and tickets.latest_event(session, ticket.id, "ticket.priority_changed") is not None
    ):
        priority = Priority(ticket.priority)
        reasons.append(f"at least {priority.value}: set before triage")
    # A head already decided on the ticket (filed with a category or team) needs nobody.
    decided = {"category": ticket.category is not None, "team": ticket.team_id is not None}
    needs = sorted(
        h
        for h, d in decisions.items()
        if d.label is None and not decided.get(h, False) and _needs_person(policy, d)
    )

    record = TicketTriage(
        ticket_id=ticket.id,
        message_id=message.id,
        customer_id=ticket.customer_id,
        language=language.code,
        language_confidence=language.confidence,
        sentiment=sentiment.score,
        sentiment_label=sentiment.label,
        predictions={h: d.as_json() for h, d in decisions.items()},
        needs_triage=needs,
        impact={
            "available": impact.available,
            "similar_reports": impact.similar_reports,
            "similar_customers": impact.similar_customers,
            "similar_ticket_ids": impact.similar_ticket_ids,
            "compared": impact.compared,
            "window_minutes": policy.impact.window_minutes,
            "services": [s.name for s in services],
            "tier": tier,
        },
        priority=priority.value,
        priority_reasons=reasons,
        embedding=stored.tobytes() if stored is not None else None,
    )
    session.add(record)
    session.flush()  # the unique ticket_id makes a concurrent second run fail here and retry as a no-op

    category = decisions["category"].label if "category" in decisions else None
    changes: dict[str, Any] = {"priority": priority}
    if category is not None and ticket.category is None:
        changes["category"] = category
    if team_id is not None and ticket.team_id is None:
        changes["team_id"] = team_id
    if language.code is not None:
        changes["language"] = language.code
    if needs:
        changes["flags"] = sorted({*ticket.flags, NEEDS_TRIAGE_FLAG})
        # A queue the channel chose (a phone callback) stays; the flag tells. A ticket already sent up
        # the escalation ladder (a phrase rule on its first message) goes to the level's people through
        # routing even without a category: the flag keeps it in the needs-triage view meanwhile.
        if ticket.queue is None and ticket.escalation_level is EscalationLevel.FRONTLINE:
            changes["queue"] = QueueKind.TRIAGE
    tickets.update_ticket(session, ticket, TicketUpdate(**changes, reason="triage"), BOT)
    tickets.record_event(
        session,
        ticket,
        "triage.classified",
        BOT,
        {
            "message_id": message.id,
            "predictions": record.predictions,
            "needs_triage": needs,
            "language": {"code": language.code, "confidence": language.confidence},
            "sentiment": {"score": sentiment.score, "label": sentiment.label, "words": list(sentiment.words)},
            "impact": record.impact,
            "priority": {"value": priority.value, "reasons": reasons},
        },
    )
    # A category that needs details goes through the missing-information step first (the category
    # change enqueued it); everything else is released to routing now.
    if not (category and _category_needs_details(ticket.category)):
        mark_ready_for_routing(session, ticket, "needs triage" if needs else "triaged")
    return record


def mark_ready_for_routing(session: Session, ticket: Ticket, reason: str) -> None:
    """Queue the ticket for routing; a ticket an agent already owns is left as it is."""
    waiting = _UNTOUCHED | {TicketStatus.PENDING_CUSTOMER}
    # A customer's answer wakes the ticket to "open"; with nobody assigned yet it still needs routing.
    unowned_open = ticket.status is TicketStatus.OPEN and ticket.assignee_id is None
    if ticket.status in waiting or unowned_open:
        tickets.change_status(session, ticket, StatusChange(status=TicketStatus.QUEUED, reason=reason), BOT)
    elif ticket.status is not TicketStatus.QUEUED:
        return
    queue = ticket.queue.value if ticket.queue is not None else None
    tickets.record_event(session, ticket, "triage.ready_for_routing", BOT, {"reason": reason, "queue": queue})
    if get_task(ROUTE_JOB) is not None:
        enqueue(session, ROUTE_JOB, dedupe_key=f"route:{ticket.id}:{ticket.version}", ticket_id=ticket.id)


def record_category_correction(session: Session, ticket: Ticket) -> TriageCorrection | None:
    """An agent set the category: keep it as training data and take the ticket out of human triage."""
    return _record_correction(session, ticket, "category", "ticket.category_changed", str)


def record_team_correction(session: Session, ticket: Ticket) -> TriageCorrection | None:
    """An agent set the team (the ticket view's team field or a transfer): the team head's feedback,
    labelled with the team's name as the team head predicts it."""
    names = {team.id: team.name for team in agents.list_teams(session)}
    return _record_correction(
        session, ticket, "team", "ticket.team_changed", lambda team_id: names.get(int(team_id), str(team_id))
    )


def _record_correction(
    session: Session, ticket: Ticket, head: str, event_kind: str, label_of: Callable[[Any], str]
) -> TriageCorrection | None:
    repo = TriageRepository(session)
    event = tickets.latest_event(session, ticket.id, event_kind)
    if event is None or event.actor_kind != AuthorKind.AGENT or not event.data.get("to"):
        return None
    existing = repo.correction_for_event(event.id)
    if existing is not None:
        return existing
    triaged = repo.for_ticket(ticket.id)
    predicted = (triaged.predictions.get(head) or {}) if triaged is not None else {}
    correction = TriageCorrection(
        ticket_id=ticket.id,
        event_id=event.id,
        head=head,
        predicted_label=predicted.get("label"),
        corrected_label=label_of(event.data["to"])[:120],
        model_version=predicted.get("model_version"),
        agent_id=event.actor_id,
    )
    session.add(correction)
    if triaged is not None and head in triaged.needs_triage:
        triaged.needs_triage = [h for h in triaged.needs_triage if h != head]
        if not triaged.needs_triage and NEEDS_TRIAGE_FLAG in ticket.flags:
            changes: dict[str, Any] = {"flags": [f for f in ticket.flags if f != NEEDS_TRIAGE_FLAG]}
            if ticket.queue is QueueKind.TRIAGE:
                changes["queue"] = None
            tickets.update_ticket(session, ticket, TicketUpdate(**changes, reason="triaged by an agent"), BOT)
            if not _category_needs_details(ticket.category):
                mark_ready_for_routing(session, ticket, "triaged by an agent")
    tickets.record_event(
        session,
        ticket,
        "triage.corrected",
        BOT,
        {
            "head": head,
            "predicted": correction.predicted_label,
            "corrected": correction.corrected_label,
            "agent_id": event.actor_id,
            "model_version": correction.model_version,
        },
    )
    session.flush()
    return correction


def triage_of(session: Session, ticket_id: int) -> TicketTriage | None:
    return TriageRepository(session).for_ticket(ticket_id)


def corrections_of(session: Session, ticket_id: int) -> list[TriageCorrection]:
    return list(TriageRepository(session).corrections_for_ticket(ticket_id))
