"""Normalising identities, so the same person on two channels is recognised as one."""

from __future__ import annotations

import re

from relaydesk.customers.enums import IdentityKind
from relaydesk.kit.errors import ValidationFailedError

__all__ = ["normalise_identity"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_JUNK = re.compile(r"[\s().\-/]")


def normalise_identity(kind: IdentityKind, value: str) -> str:
    value = value.strip()
    if kind is IdentityKind.EMAIL:
        value = value.lower()
        if not _EMAIL.match(value):
            raise ValidationFailedError(f"{value!r} is not an email address.")
        return value
    if kind is IdentityKind.PHONE:
        digits = _PHONE_JUNK.sub("", value)
        if digits.startswith("00"):
            digits = "+" + digits[2:]
        if not re.fullmatch(r"\+?[0-9]{6,16}", digits):
            raise ValidationFailedError(
                f"{value!r} is not a phone number; use international format such as +14155550123."
            )
        return digits if digits.startswith("+") else "+" + digits
    if kind is IdentityKind.SOCIAL and ":" not in value:
        raise ValidationFailedError("Social identities look like 'network:handle', e.g. 'instagram:acme'.")
    if not value:
        raise ValidationFailedError("An identity needs a value.")
    return value
