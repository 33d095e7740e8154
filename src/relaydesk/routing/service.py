"""routing: service (issue 21 fills this in)."""

from __future__ import annotations

__all__: list[str] = []
