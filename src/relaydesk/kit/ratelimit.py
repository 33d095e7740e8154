"""A fixed-window rate limiter per client key, kept in process memory.

Per process on purpose: it protects each server from a flood without a network hop on every public
request. Behind several API processes the effective limit is N times the setting.
"""

from __future__ import annotations

import threading
import time

from relaydesk.kit.errors import RateLimitedError

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float = 60.0, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window_seconds
        self.max_keys = max_keys
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            start, count = self._counts.get(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            count += 1
            if len(self._counts) >= self.max_keys and key not in self._counts:
                self._counts.clear()  # a spray of distinct keys must not grow memory without bound
            self._counts[key] = (start, count)
        if count > self.limit:
            retry_in = max(1, int(self.window - (now - start)))
            raise RateLimitedError(
                f"Too many requests from this client; retry in {retry_in} s.",
                details={"retry_after": retry_in},
            )
