"""Jobs of the email transports: the periodic IMAP poll."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from relaydesk.channels.email.imap import poll_mailboxes
from relaydesk.jobs import periodic
from relaydesk.settings import get_settings

__all__ = ["poll_email_mailboxes"]


@periodic("channels.poll_email_mailboxes", every=timedelta(minutes=1))
def poll_email_mailboxes(session: Session) -> None:
    """Take new mail from every configured IMAP mailbox, flagging it on the server after the commit."""
    if not get_settings().email_imap_mailboxes:
        return
    passes = poll_mailboxes(session)

    def finish(_session: Session) -> None:
        for mailbox_pass in passes:
            mailbox_pass.finish()

    def abandon(_session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:  # the job's own transaction ended without a commit
            for mailbox_pass in passes:
                mailbox_pass.abandon()

    # Flag (or move) only what this job's transaction really stored; if it rolls back the
    # messages stay unflagged and the next pass takes them again. Registered after the pass, so
    # the savepoints inside it (which also fire after_commit) are already behind us.
    event.listen(session, "after_commit", finish)
    event.listen(session, "after_transaction_end", abandon)
