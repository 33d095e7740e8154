"""Social messaging in the shape of the common business-messaging APIs (Messenger, Instagram, WhatsApp):
the subscription handshake and signed events in (``verify``, ``parse``, ``endpoints``), the send API out
(``sender``); registered in ``channels.registry`` by ``adapter``."""

from relaydesk.channels.social.parse import SocialEvents, parse_social_webhook
from relaydesk.channels.social.sender import send_social
from relaydesk.channels.social.verify import SIGNATURE_HEADER, social_signature, verify_subscription

__all__ = [
    "SIGNATURE_HEADER",
    "SocialEvents",
    "parse_social_webhook",
    "send_social",
    "social_signature",
    "verify_subscription",
]
