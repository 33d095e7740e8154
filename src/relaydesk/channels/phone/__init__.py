"""Phone: a callback queue customers (or the bot) join with a preferred time (``service``, its own
table ``phone_callbacks``), and signed call events from the telephony provider (``verify``, ``parse``)
landing on the ticket; routes in ``endpoints``, registered in ``channels.registry`` by ``adapter``."""

from relaydesk.channels.phone.parse import CallEvent, parse_call_event
from relaydesk.channels.phone.schemas import CallbackRequest
from relaydesk.channels.phone.verify import SIGNATURE_HEADER, phone_signature

__all__ = ["SIGNATURE_HEADER", "CallEvent", "CallbackRequest", "parse_call_event", "phone_signature"]
