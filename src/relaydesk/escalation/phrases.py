"""Phrase rules: words in a customer's message ("I will sue you", "voy a demandarlos") that flag the
ticket, raise its priority, move it up the escalation ladder and freeze the bot, before any automatic
answer (the inbound step at order 10, see ``triage/pipeline.py``).

The ``phrase_rules`` policy holds one pack of rules per language. A phrase is matched on whole words,
case- and accent-insensitively, with any spacing or punctuation between its words; a word written with
a trailing ``+`` also matches its simple inflections in the pack's language (``sue+``: sues, sued,
suing; ``demandar+``: demando, demandaré, demanda, demandarlos …). ``unless`` phrases of a rule cancel a
match they overlap ("food court" is not "court"). Each pack compiles once per policy version into a
word index, so a message costs one pass over its words whatever the number of phrases.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lingua import IsoCode639_1
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from sqlalchemy.orm import Session

from relaydesk import policies
from relaydesk.escalation import service as escalation_service
from relaydesk.kit.errors import RelaydeskError
from relaydesk.policies import get_policy, policy_kind
from relaydesk.tickets import service as tickets
from relaydesk.tickets.enums import AuthorKind, EscalationLevel, Priority, TicketStatus
from relaydesk.tickets.schemas import Flag, TicketUpdate
from relaydesk.triage.pipeline import BOT_FROZEN_FLAG, StepOutcome, inbound_step

if TYPE_CHECKING:
    from relaydesk.tickets.models import Message, Ticket

__all__ = [
    "PHRASE_MATCHED_EVENT",
    "PhraseActions",
    "PhraseMatch",
    "PhraseRule",
    "PhraseRulesPolicy",
    "apply_phrase_rules",
    "inflections",
    "phrase_rules_policy",
]

PHRASE_MATCHED_EVENT = "escalation.phrase_matched"

# Phrase rules decide on their own, before a person or the bot has seen the message.
_ACTOR = tickets.Actor(AuthorKind.SYSTEM)

_WORD = re.compile(r"\w+")
_COMBINING_MARKS = re.compile(r"[\u0300-\u036f]")
_MAX_WORDS_PER_PHRASE = 8


def normalise(text: str) -> str:
    """Lower case without accents ("Demandaré" -> "demandare"): customers often type without them."""
    text = text.casefold()
    if text.isascii():
        return text
    return _COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", text))


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(text))


# --- simple inflection per language: regular forms only; irregular ones are written out as phrases ---


def _english_forms(word: str) -> set[str]:
    forms = {word, f"{word}s", f"{word}es", f"{word}ed", f"{word}ing"}
    if word.endswith("e"):  # sue: sued, suing
        forms |= {f"{word}d", f"{word[:-1]}ing"}
    if len(word) > 1 and word.endswith("y") and word[-2] not in "aeiou":  # reply: replies, replied
        forms |= {f"{word[:-1]}ies", f"{word[:-1]}ied"}
    if len(word) > 2 and word[-1] not in "aeiouwxy" and word[-2] in "aeiou" and word[-3] not in "aeiou":
        forms |= {f"{word}{word[-1]}ed", f"{word}{word[-1]}ing"}  # cancel: cancelled, cancelling
    return forms


# Regular Spanish conjugation by infinitive ending (accents already removed): present, preterite,
# future, conditional, present subjunctive, gerund and participle.
_SPANISH_ENDINGS = {
    "ar": (
        "o as a amos ais an e aste o amos asteis aron are aras ara aremos areis aran aria arias "
        "ariamos ariais arian e es e emos eis en ando ado ada ados adas"
    ),
    "er": (
        "o es e emos eis en i iste io imos isteis ieron ere eras era eremos ereis eran eria erias "
        "eriamos eriais erian a as amos ais an iendo ido ida idos idas"
    ),
    "ir": (
        "o es e imos is en i iste io imos isteis ieron ire iras ira iremos ireis iran iria irias "
        "iriamos iriais irian a as amos ais an iendo ido ida idos idas"
    ),
}
_SPANISH_CLITICS = ("me", "te", "le", "les", "lo", "la", "los", "las", "nos", "os", "se")


def _spanish_forms(word: str) -> set[str]:
    ending = word[-2:]
    if ending not in _SPANISH_ENDINGS or len(word) < 4:
        # A noun or adjective: its plural.
        return {word, f"{word}s", f"{word}es"}
    stem = word[:-2]
    forms = {word} | {stem + suffix for suffix in _SPANISH_ENDINGS[ending].split()}
    gerund = stem + ("ando" if ending == "ar" else "iendo")
    # "voy a demandarlos", "estoy denunciandote": the infinitive and the gerund take pronouns.
    forms |= {word + clitic for clitic in _SPANISH_CLITICS} | {gerund + c for c in _SPANISH_CLITICS}
    return forms


_INFLECTORS: dict[str, Callable[[str], set[str]]] = {"en": _english_forms, "es": _spanish_forms}


def inflections(language: str, word: str) -> set[str]:
    """The forms ``word+`` matches in ``language`` (normalised: lower case, no accents)."""
    inflect = _INFLECTORS.get(language)
    if inflect is None:
        raise ValueError(f"no inflection for language {language!r}; supported: {sorted(_INFLECTORS)}")
    return inflect(normalise(word))


# --- matching --------------------------------------------------------------------------------------


def _phrase_slots(phrase: str, language: str) -> tuple[frozenset[str], ...]:
    """The words of ``phrase``, each as the set of forms it matches; ``+`` after a word inflects it."""
    slots: list[frozenset[str]] = []
    for chunk in phrase.split():
        inflect = chunk.endswith("+")
        found = words(chunk.removesuffix("+") if inflect else chunk)
        if "+" in (chunk[:-1] if inflect else chunk):
            raise ValueError(f"phrase {phrase!r}: '+' goes at the end of a word (e.g. 'sue+')")
        if inflect and not found:
            raise ValueError(f"phrase {phrase!r}: '+' must follow a word")
        slots += [frozenset({w}) for w in found[:-1]]
        if found:
            last = found[-1]
            slots.append(frozenset(inflections(language, last) if inflect else {last}))
    if not slots:
        raise ValueError(f"phrase {phrase!r} has no words")
    if len(slots) > _MAX_WORDS_PER_PHRASE:
        raise ValueError(f"phrase {phrase!r} has more than {_MAX_WORDS_PER_PHRASE} words")
    return tuple(slots)


@dataclass(frozen=True)
class _Phrase:
    rule: int  # index into the pack's rules
    text: str  # as written in the policy
    slots: tuple[frozenset[str], ...]
    negative: bool

    def matches_at(self, tokens: list[str], start: int) -> bool:
        end = start + len(self.slots)
        return end <= len(tokens) and all(tokens[start + k] in slot for k, slot in enumerate(self.slots) if k)


@dataclass(frozen=True)
class PhraseMatch:
    rule: PhraseRule
    language: str
    phrase: str  # as written in the policy ("sue+")
    matched: str  # the customer's words, normalised ("suing")


@dataclass(frozen=True)
class _Pack:
    language: str
    rules: tuple[PhraseRule, ...]
    # First word form -> the phrases that start with it.
    index: dict[str, tuple[_Phrase, ...]]

    @classmethod
    def compile(cls, language: str, rules: Iterable[PhraseRule]) -> _Pack:
        rules = tuple(rules)
        index: dict[str, list[_Phrase]] = {}
        for number, rule in enumerate(rules):
            for texts, negative in ((rule.phrases, False), (rule.unless, True)):
                for text in texts:
                    phrase = _Phrase(number, text, _phrase_slots(text, language), negative)
                    for form in phrase.slots[0]:
                        index.setdefault(form, []).append(phrase)
        return cls(language, rules, {form: tuple(found) for form, found in index.items()})

    def _spans(self, tokens: list[str]) -> Iterator[tuple[_Phrase, int, int]]:
        for start, token in enumerate(tokens):
            for phrase in self.index.get(token, ()):
                if phrase.matches_at(tokens, start):
                    yield phrase, start, start + len(phrase.slots)

    def match(self, tokens: list[str]) -> list[PhraseMatch]:
        hits: list[tuple[_Phrase, int, int]] = []
        vetoes: dict[int, list[tuple[int, int]]] = {}
        for phrase, start, end in self._spans(tokens):
            if phrase.negative:
                vetoes.setdefault(phrase.rule, []).append((start, end))
            else:
                hits.append((phrase, start, end))
        found: dict[tuple[int, str], PhraseMatch] = {}
        for phrase, start, end in hits:
            if any(s < end and start < e for s, e in vetoes.get(phrase.rule, ())):
                continue
            # One match per rule and phrase: the first place it occurs.
            found.setdefault(
                (phrase.rule, phrase.text),
                PhraseMatch(self.rules[phrase.rule], self.language, phrase.text, " ".join(tokens[start:end])),
            )
        return list(found.values())


# --- the policy ------------------------------------------------------------------------------------


class PhraseActions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flag: Flag | None = None
    # Raised to at least this; a higher priority stays.
    priority_at_least: Priority | None = None
    # Moved up to this level of the ladder; a ticket already higher stays where it is.
    escalate_to: EscalationLevel | None = None
    # No automatic answers (deflection's articles, bot flows) on this ticket from now on.
    freeze_bot: bool = False

    @model_validator(mode="after")
    def _does_something(self) -> PhraseActions:
        if not (self.flag or self.priority_at_least or self.escalate_to or self.freeze_bot):
            raise ValueError(
                "a rule needs at least one action: flag, priority_at_least, escalate_to, freeze_bot"
            )
        return self


class PhraseRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    phrases: list[str] = Field(min_length=1, max_length=500)
    # A match overlapped by one of these does not count ("food court" for "court").
    unless: list[str] = Field(default_factory=list, max_length=500)
    actions: PhraseActions


@policy_kind("phrase_rules")
class PhraseRulesPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # ISO 639-1 code -> the rules of that language; inflection (word+) exists for en and es.
    packs: dict[str, list[PhraseRule]] = Field(min_length=1)

    _compiled: dict[str, _Pack] = PrivateAttr(default_factory=dict)
    _version: str = PrivateAttr(default="")

    @field_validator("packs")
    @classmethod
    def _valid_packs(cls, packs: dict[str, list[PhraseRule]]) -> dict[str, list[PhraseRule]]:
        for language, rules in packs.items():
            if (
                len(language) != 2
                or not hasattr(IsoCode639_1, language.upper())
                or language != language.lower()
            ):
                raise ValueError(f"pack {language!r}: not a lower-case ISO 639-1 language code")
            names = [r.name for r in rules]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"pack {language!r}: rule(s) {twice} defined twice")
            for rule in rules:
                for phrase in [*rule.phrases, *rule.unless]:
                    if "+" in phrase and language not in _INFLECTORS:
                        raise ValueError(
                            f"pack {language!r}, rule {rule.name!r}: inflection ('+') exists for "
                            f"{sorted(_INFLECTORS)} only; write the forms of {phrase!r} out"
                        )
                    try:
                        _phrase_slots(phrase, language)
                    except ValueError as exc:
                        raise ValueError(f"pack {language!r}, rule {rule.name!r}: {exc}") from None
        return packs

    def model_post_init(self, context: Any, /) -> None:
        # Compiled once per validated policy: the loader validates a file once per change.
        self._compiled = {language: _Pack.compile(language, rules) for language, rules in self.packs.items()}
        digest = hashlib.sha256(self.model_dump_json().encode("utf-8")).hexdigest()
        self._version = f"sha256:{digest[:16]}"

    @property
    def version(self) -> str:
        """Which text decided: a hash of the validated rules (the same rules give the same version)."""
        return self._version

    def match(self, text: str, language: str | None = None) -> list[PhraseMatch]:
        """Every rule match in ``text``; only the pack of ``language`` when there is one, else every pack."""
        packs = [self._compiled[language]] if language in self._compiled else self._compiled.values()
        tokens = words(text)
        return [found for pack in packs for found in pack.match(tokens)]


def phrase_rules_policy() -> PhraseRulesPolicy | None:
    return get_policy("phrase_rules", PhraseRulesPolicy)


# --- the inbound step ------------------------------------------------------------------------------


# The escalation reason a phrase rule's move records (one of escalation_paths.yaml's reasons).
PHRASE_REASON = "phrase_rule"


@inbound_step("escalation.phrases", order=10)
def apply_phrase_rules(session: Session, ticket: Ticket, message: Message) -> StepOutcome:
    """Match the message against the phrase rules; record each match and act on the ticket at once."""
    policy = phrase_rules_policy()
    if policy is None or ticket.status is TicketStatus.CLOSED:
        return StepOutcome.CONTINUE
    if any(
        e.data.get("message_id") == message.id
        for e in tickets.events_of_kind(session, ticket.id, PHRASE_MATCHED_EVENT)
    ):
        return StepOutcome.CONTINUE  # the job ran before: its matches and actions are on the ticket
    text = message.body_text
    # The subject belongs to the message that opened the ticket; later messages would re-match it.
    if tickets.first_message_id(session, ticket.id) == message.id:
        text = f"{ticket.subject}\n{text}"
    language = ticket.language or message.meta.get("language")
    matches = policy.match(text, language if isinstance(language, str) else None)
    if not matches:
        return StepOutcome.CONTINUE
    for found in matches:
        tickets.record_event(
            session,
            ticket,
            PHRASE_MATCHED_EVENT,
            _ACTOR,
            {
                "message_id": message.id,
                "rule": found.rule.name,
                "phrase": found.phrase,
                "matched": found.matched,
                "language": found.language,
                "policy_version": policies.policy_version("phrase_rules") or policy.version,
                "actions": found.rule.actions.model_dump(mode="json", exclude_defaults=True),
            },
        )
    _act(session, ticket, matches)
    return StepOutcome.CONTINUE


def _act(session: Session, ticket: Ticket, matches: list[PhraseMatch]) -> None:
    """The strongest of the matched rules' actions, through tickets.update_ticket (one event a field)."""
    actions = [m.rule.actions for m in matches]
    flags = {a.flag for a in actions if a.flag} | (
        {BOT_FROZEN_FLAG} if any(a.freeze_bot for a in actions) else set()
    )
    changes: dict[str, Any] = {}
    if not flags <= set(ticket.flags):
        changes["flags"] = sorted({*ticket.flags, *flags})
    priority = max(
        (a.priority_at_least for a in actions if a.priority_at_least), key=lambda p: p.rank, default=None
    )
    if priority is not None and priority.rank > Priority(ticket.priority).rank:
        changes["priority"] = priority
    level = max((a.escalate_to for a in actions if a.escalate_to), key=lambda lv: lv.rank, default=None)
    rules = ", ".join(sorted({m.rule.name for m in matches}))
    if changes:
        tickets.update_ticket(
            session, ticket, TicketUpdate(**changes, reason=f"phrase rule: {rules}"), _ACTOR
        )
    if level is not None and level.rank > EscalationLevel(ticket.escalation_level).rank:
        _escalate(session, ticket, level, rules, matches)


def _escalate(
    session: Session, ticket: Ticket, level: EscalationLevel, rules: str, matches: list[PhraseMatch]
) -> None:
    """Up the ladder through the ladder's own move (a row in ``escalations``, routing to whoever serves
    the level, its pickup target); where the ladder refuses (no path for the ticket's team, no legal
    team named) the level is still recorded on the ticket, with the ladder's reason, so the match is
    never lost and a person sees why it did not move."""
    words = "; ".join(sorted({f'"{m.matched}"' for m in matches}))
    try:
        with session.begin_nested():
            escalation_service.escalate(
                session,
                ticket.id,
                to_level=level,
                reason=PHRASE_REASON,
                note=f"Phrase rule {rules} matched {words}.",
            )
    except RelaydeskError as refused:
        session.refresh(ticket)
        tickets.update_ticket(
            session,
            ticket,
            TicketUpdate(
                escalation_level=level, reason=f"phrase rule: {rules} (not routed: {refused.message})"
            ),
            _ACTOR,
        )
