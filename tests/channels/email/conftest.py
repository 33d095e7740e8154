"""Shared helpers for the email format tests: the hand-written .eml corpus and default limits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from relaydesk.channels.email import EmailLimits, ParsedEmail, parse_email

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture
def parse_corpus() -> Callable[[str], ParsedEmail]:
    """Parse one corpus file by name with default limits."""

    def parse(name: str) -> ParsedEmail:
        return parse_email((CORPUS / name).read_bytes(), limits=EmailLimits())

    return parse
