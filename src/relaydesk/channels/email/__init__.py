"""Email format layer: parse inbound mail, detect automatic mail, thread with signed tokens, build replies."""

from relaydesk.channels.email.autoreply import detect_auto_submitted
from relaydesk.channels.email.errors import EmailRejected
from relaydesk.channels.email.html_body import html_to_text, sanitize_html
from relaydesk.channels.email.model import (
    Attachment,
    AutoSubmittedKind,
    EmailAddress,
    EmailLimits,
    ParsedEmail,
)
from relaydesk.channels.email.outbound import build_reply, reply_subject
from relaydesk.channels.email.parse import parse_email, sanitize_filename
from relaydesk.channels.email.quotes import strip_quotes_and_signature
from relaydesk.channels.email.tokens import extract_ticket_id, make_reply_token, verify_reply_token

__all__ = [
    "Attachment",
    "AutoSubmittedKind",
    "EmailAddress",
    "EmailLimits",
    "EmailRejected",
    "ParsedEmail",
    "build_reply",
    "detect_auto_submitted",
    "extract_ticket_id",
    "html_to_text",
    "make_reply_token",
    "parse_email",
    "reply_subject",
    "sanitize_filename",
    "sanitize_html",
    "strip_quotes_and_signature",
    "verify_reply_token",
]
