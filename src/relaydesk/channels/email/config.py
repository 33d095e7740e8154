"""The email settings, resolved once per use: support mailbox, token domain, accepted recipients, limits."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formataddr, getaddresses

from relaydesk.channels.email.model import EmailLimits
from relaydesk.settings import Settings, get_settings

__all__ = ["EmailConfig", "email_config"]


@dataclass(frozen=True)
class EmailConfig:
    support_name: str
    # Lower-case addr-spec of the support mailbox, or "" when email is not configured.
    support_address: str
    # Where signed reply tokens live (plus-addresses and Message-IDs); "" disables token threading.
    support_domain: str
    # Lower-case addresses ("support@acme.test") and domains ("@acme.test") the SMTP server takes.
    accepted_recipients: tuple[str, ...]
    max_message_bytes: int
    max_text_chars: int
    secret: bytes
    # Lower-case authserv-ids whose Authentication-Results headers are trusted (authresults.py).
    trusted_authserv_ids: frozenset[str] = frozenset()

    @property
    def formatted_support_address(self) -> str:
        return formataddr((self.support_name, self.support_address))

    @property
    def limits(self) -> EmailLimits:
        return EmailLimits(
            max_message_bytes=self.max_message_bytes,
            max_attachment_bytes=min(EmailLimits().max_attachment_bytes, self.max_message_bytes),
        )

    def accepts(self, recipient: str) -> bool:
        """Whether the built-in SMTP server takes mail for this envelope recipient."""
        address = recipient.strip().strip("<>").lower()
        local, at, domain = address.rpartition("@")
        if not at or not local or not domain:
            return False
        base = f"{local.split('+', 1)[0]}@{domain}"
        return any(
            domain == entry[1:] if entry.startswith("@") else entry in (address, base)
            for entry in self.accepted_recipients
        )

    def is_own_address(self, address: str) -> bool:
        """Mail "from" the support mailbox itself is a loop, never a customer."""
        if not self.support_address:
            return False
        local, _, domain = address.lower().rpartition("@")
        return f"{local.split('+', 1)[0]}@{domain}" == self.support_address


def _mailbox(value: str) -> tuple[str, str]:
    pairs = getaddresses([value]) if value.strip() else []
    name, address = pairs[0] if pairs else ("", "")
    return name.strip(), address.strip().lower() if "@" in address else ""


def email_config(settings: Settings | None = None) -> EmailConfig:
    settings = settings or get_settings()
    name, address = _mailbox(settings.email_support_address)
    domain = (settings.email_support_domain or address.rpartition("@")[2]).strip().lower()
    accepted = tuple(entry.strip().lower() for entry in settings.email_accepted_recipients if entry.strip())
    if not accepted and address:
        accepted = (address,)
    return EmailConfig(
        support_name=name,
        support_address=address,
        support_domain=domain,
        accepted_recipients=accepted,
        # The raw message is kept as an attachment, so it can never be bigger than an upload.
        max_message_bytes=min(settings.email_max_message_bytes, settings.max_upload_bytes),
        max_text_chars=settings.max_message_chars,
        secret=settings.secret,
        trusted_authserv_ids=frozenset(
            entry.strip().lower() for entry in settings.email_trusted_authserv_ids if entry.strip()
        ),
    )
