"""SMS through a Twilio-compatible gateway: signed form-encoded webhooks in (``verify``, ``parse``,
``endpoints``), REST API out (``sender``); registered in ``channels.registry`` by ``adapter``."""

from relaydesk.channels.sms.parse import SmsForm, parse_sms_webhook
from relaydesk.channels.sms.sender import send_sms
from relaydesk.channels.sms.verify import SIGNATURE_HEADER, sms_signature

__all__ = ["SIGNATURE_HEADER", "SmsForm", "parse_sms_webhook", "send_sms", "sms_signature"]
