"""IMAP polling: take each new message of a mailbox once, with no transaction open during the network.

Per mailbox folder a ``MailboxState`` row holds UIDVALIDITY and the last UID taken. A pass fetches
the UIDs above it (``BODY.PEEK[]``, so nothing is flagged before the store) with no database
transaction open, then stores each message in its own short unit of work that locks the row, runs
``receive_email`` and advances ``last_uid``: a slow or hung IMAP server holds no lock, a crash before
a store leaves that message to the next pass, one after it leaves nothing to redo. The stored UIDs
are flagged ``\\Seen`` (or moved) at the end of the pass and kept in ``pending_uids`` until then, so
the next pass flags them again in case that step was lost.

The first pass over a mailbox (or after its UIDVALIDITY changed) takes only unseen messages: a
mailbox with years of read mail must not become years of tickets. Re-taking a message already
stored is harmless anyway; its Message-ID makes it a duplicate.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from relaydesk.channels.email.config import EmailConfig, email_config
from relaydesk.channels.email.inbound import SOURCE_IMAP, Envelope, receive_email
from relaydesk.channels.email.models import MailboxState
from relaydesk.kit.time import utcnow
from relaydesk.settings import ImapMailbox, MailSecurity, get_settings

__all__ = ["MailboxPass", "UnitOfWork", "mailbox_key", "poll_mailbox", "poll_mailboxes"]

log = logging.getLogger("relaydesk.email.imap")

# Opens one short transaction that commits when its block ends: ``Database.transaction`` from the
# CLI, ``committed_step`` from the periodic job.
UnitOfWork = Callable[[], AbstractContextManager[Session]]

_TIMEOUT_SECONDS = 30.0
# A pass stops taking new messages after this long, so one job stays well inside its lease.
_PASS_BUDGET_SECONDS = 20.0


class ImapError(Exception):
    """The IMAP server refused a command; the pass for that mailbox stops and is retried next time."""


def mailbox_key(mailbox: ImapMailbox) -> str:
    return f"imap://{mailbox.user}@{mailbox.host}:{mailbox.port}/{mailbox.folder}"[:500]


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(response: tuple[str, Sequence[object]], what: str) -> Sequence[object]:
    status, data = response
    if status != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise ImapError(f"{what} failed: {status} {detail}")
    return data


def _connect(mailbox: ImapMailbox) -> imaplib.IMAP4:
    connection: imaplib.IMAP4
    if mailbox.security is MailSecurity.SSL:
        connection = imaplib.IMAP4_SSL(
            mailbox.host, mailbox.port, ssl_context=ssl.create_default_context(), timeout=_TIMEOUT_SECONDS
        )
    else:
        connection = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=_TIMEOUT_SECONDS)
        if mailbox.security is MailSecurity.STARTTLS:
            connection.starttls(ssl_context=ssl.create_default_context())
    _ok(connection.login(mailbox.user, mailbox.password.get_secret_value()), "LOGIN")
    return connection


def _capabilities(connection: imaplib.IMAP4) -> set[str]:
    data = _ok(connection.capability(), "CAPABILITY")
    words = b" ".join(d for d in data if isinstance(d, bytes)).decode("ascii", "replace").upper().split()
    return set(words)


def _uidvalidity(connection: imaplib.IMAP4) -> int:
    _, data = connection.response("UIDVALIDITY")
    for item in data or []:
        if isinstance(item, bytes) and item.strip().isdigit():
            return int(item)
    raise ImapError("the server did not report UIDVALIDITY")


def _search(connection: imaplib.IMAP4, criteria: str) -> list[int]:
    data = _ok(connection.uid("SEARCH", criteria), f"UID SEARCH {criteria}")
    return sorted(
        {int(uid) for item in data if isinstance(item, bytes) for uid in item.split() if uid.isdigit()}
    )


def _fetch(connection: imaplib.IMAP4, uid: int) -> bytes | None:
    data = _ok(connection.uid("FETCH", str(uid), "(BODY.PEEK[])"), f"UID FETCH {uid}")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None  # expunged by someone else between SEARCH and FETCH


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(uid) for uid in sorted(set(uids)))


def _flag_taken(connection: imaplib.IMAP4, mailbox: ImapMailbox, uids: list[int]) -> None:
    """Flag \\Seen or move the taken messages; doing it twice is harmless."""
    if not uids:
        return
    if mailbox.after == "seen":
        _ok(connection.uid("STORE", _uid_set(uids), "+FLAGS.SILENT", r"(\Seen)"), "UID STORE")
        return
    target = _quote(mailbox.move_to)
    connection.create(target)  # "already exists" is the usual answer, and fine
    capabilities = _capabilities(connection)
    if "MOVE" in capabilities:
        _ok(connection.uid("MOVE", _uid_set(uids), target), "UID MOVE")
        return
    _ok(connection.uid("COPY", _uid_set(uids), target), "UID COPY")
    _ok(connection.uid("STORE", _uid_set(uids), "+FLAGS.SILENT", r"(\Seen \Deleted)"), "UID STORE")
    if "UIDPLUS" in capabilities:
        # Expunge only ours: a plain EXPUNGE would also remove what a person marked deleted.
        _ok(connection.uid("EXPUNGE", _uid_set(uids)), "UID EXPUNGE")


@dataclass
class MailboxPass:
    """What one pass over one mailbox took."""

    mailbox: str
    accepted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    error: str | None = None
    taken_uids: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        return {
            "mailbox": self.mailbox,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "error": self.error,
        }


def _logout(connection: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        connection.logout()


def _state(session: Session, key: str) -> MailboxState:
    # Locked until the step commits, so two overlapping passes on PostgreSQL take turns per message.
    state = session.scalar(select(MailboxState).where(MailboxState.mailbox == key).with_for_update())
    if state is None:
        state = MailboxState(mailbox=key, uidvalidity=None, last_uid=0, pending_uids=[])
        session.add(state)
        session.flush()
    return state


@dataclass(frozen=True)
class _Bookmark:
    uidvalidity: int | None
    last_uid: int
    pending_uids: list[int]


def _bookmark(transaction: UnitOfWork, key: str) -> _Bookmark:
    with transaction() as session:
        state = _state(session, key)
        state.last_polled_at = utcnow()
        return _Bookmark(state.uidvalidity, state.last_uid, list(state.pending_uids))


def _start_over(transaction: UnitOfWork, key: str, uidvalidity: int) -> None:
    with transaction() as session:
        state = _state(session, key)
        state.uidvalidity, state.last_uid, state.pending_uids = uidvalidity, 0, []


def _store(
    transaction: UnitOfWork,
    key: str,
    uidvalidity: int,
    uid: int,
    raw: bytes | None,
    result: MailboxPass,
    config: EmailConfig | None,
) -> None:
    """Store one fetched message and advance the bookmark past it, in one short transaction."""
    outcome = None
    with transaction() as session:
        state = _state(session, key)
        if state.uidvalidity != uidvalidity or uid <= state.last_uid:
            return  # an overlapping pass (the CLI beside the worker) took it already
        if raw is not None:
            outcome = receive_email(session, raw, source=SOURCE_IMAP, envelope=Envelope(), config=config)
        state.last_uid = uid
        # Flagged on the server after the commit; kept here until then, so a crash in between
        # leaves the flag to the next pass rather than the message to be taken twice.
        state.pending_uids = sorted({*state.pending_uids, uid})
    result.taken_uids.append(uid)
    if outcome is not None:
        result.duplicates += outcome.duplicate
        if outcome.counts_as == "quarantined":
            result.quarantined += 1
        else:
            result.accepted += 1


def _flagged(transaction: UnitOfWork, key: str, uids: list[int], error: str | None) -> None:
    with transaction() as session:
        state = _state(session, key)
        state.pending_uids = sorted(set(state.pending_uids) - set(uids))
        state.last_error = error


def _record_error(transaction: UnitOfWork, key: str, error: str) -> None:
    with transaction() as session:
        _state(session, key).last_error = error


def poll_mailbox(
    transaction: UnitOfWork, mailbox: ImapMailbox, *, batch_size: int, config: EmailConfig | None = None
) -> MailboxPass:
    """Take up to ``batch_size`` new messages of one mailbox, each stored in its own ``transaction()``."""
    key = mailbox_key(mailbox)
    result = MailboxPass(mailbox=key)
    bookmark = _bookmark(transaction, key)
    try:
        connection = _connect(mailbox)
    except (OSError, imaplib.IMAP4.error, ImapError) as exc:
        result.error = f"cannot log in to {mailbox.host}:{mailbox.port}: {exc}"[:2000]
        log.warning("%s: %s", key, result.error)
        _record_error(transaction, key, result.error)
        return result
    try:
        _ok(connection.select(_quote(mailbox.folder)), f"SELECT {mailbox.folder}")
        uidvalidity = _uidvalidity(connection)
        last_uid, unflagged = bookmark.last_uid, bookmark.pending_uids
        if bookmark.uidvalidity != uidvalidity:
            # New mailbox, or the server renumbered it: old UIDs mean nothing any more.
            _start_over(transaction, key, uidvalidity)
            last_uid, unflagged = 0, []
        if last_uid == 0:
            candidates = _search(connection, "UNSEEN")
        else:
            # "n:*" always matches the highest UID, even below n: filter again.
            candidates = [uid for uid in _search(connection, f"UID {last_uid + 1}:*") if uid > last_uid]
        started = time.monotonic()
        for uid in candidates[:batch_size]:
            if time.monotonic() - started > _PASS_BUDGET_SECONDS:
                break
            # Fetched with no transaction open: a slow server holds up no database writer.
            raw = _fetch(connection, uid)
            _store(transaction, key, uidvalidity, uid, raw, result, config)
        done = sorted({*unflagged, *result.taken_uids})
        _flag_taken(connection, mailbox, done)
        _flagged(transaction, key, done, None)
    except (OSError, imaplib.IMAP4.error, ImapError) as exc:
        # What was stored stays stored (last_uid and pending_uids moved with it); the rest, and the
        # flags still pending, wait for the next pass.
        result.error = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning("%s: %s", key, result.error)
        _record_error(transaction, key, result.error)
    finally:
        _logout(connection)
    return result


def poll_mailboxes(transaction: UnitOfWork) -> list[MailboxPass]:
    """One pass over every configured mailbox, each message in its own ``transaction()``."""
    settings = get_settings()
    config = email_config(settings)
    return [
        poll_mailbox(transaction, mailbox, batch_size=settings.email_imap_batch_size, config=config)
        for mailbox in settings.email_imap_mailboxes
    ]
