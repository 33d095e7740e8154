"""Jobs of the email transports: the periodic IMAP poll."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from relaydesk.channels.email.imap import poll_mailboxes
from relaydesk.jobs import committed_step, periodic
from relaydesk.settings import get_settings

__all__ = ["poll_email_mailboxes"]


# A long job: the fetches run with no transaction open and each message is stored in its own
# committed step, so a slow IMAP server holds no database lock. The lease covers a whole pass
# (each mailbox stops taking messages after 20 s); a worker killed mid-pass leaves the job to be
# run again once it expires, and the next slot runs meanwhile, which the per-message bookkeeping
# makes harmless.
@periodic("channels.poll_email_mailboxes", every=timedelta(minutes=1), lease_seconds=600)
def poll_email_mailboxes(session: Session) -> None:
    """Take new mail from every configured IMAP mailbox, one short transaction per message."""
    if not get_settings().email_imap_mailboxes:
        return
    poll_mailboxes(lambda: committed_step(session))
