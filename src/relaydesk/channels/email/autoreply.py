"""Detection of machine-sent mail (auto-replies, bounces, bulk and list mail) Relaydesk must not answer."""

from __future__ import annotations

from collections.abc import Mapping

from relaydesk.channels.email.model import AutoSubmittedKind

__all__ = ["detect_auto_submitted"]

_DAEMON_LOCALS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}


def detect_auto_submitted(
    headers: Mapping[str, str], from_address: str, content_type: str, report_type: str | None
) -> tuple[AutoSubmittedKind | None, str | None]:
    """Kind of automatic mail and the evidence for it, or (None, None) for mail written by a person.

    `headers` maps lower-cased header names to their first decoded value.
    """
    if content_type == "multipart/report":
        if (report_type or "").lower() == "delivery-status":
            return "bounce", "multipart/report delivery-status"
        return "auto_reply", f"multipart/report {report_type or 'unknown'}"
    local_part = from_address.split("@", 1)[0]
    if local_part in _DAEMON_LOCALS:
        return "bounce", f"sender {local_part}"
    auto_submitted = headers.get("auto-submitted", "").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return "auto_reply", f"Auto-Submitted: {auto_submitted}"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if name in headers:
            return "auto_reply", f"{name} header"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in {"bulk", "junk"}:
        return "bulk", f"Precedence: {precedence}"
    if precedence == "list":
        return "list", "Precedence: list"
    for name in ("list-id", "list-unsubscribe"):
        if name in headers:
            return "list", f"{name} header"
    if "return-path" in headers and headers["return-path"].strip() in {"<>", ""}:
        # RFC 3834 responders and bounces both use the null sender; a person's client never does.
        return "auto_reply", "empty Return-Path"
    return None, None
