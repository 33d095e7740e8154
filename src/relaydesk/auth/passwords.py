"""Password hashing with argon2id (parameters from argon2-cffi's RFC 9106 low-memory profile), the rules
a new password must meet, and verification off the event loop with bounded concurrency."""

from __future__ import annotations

import asyncio
import gzip
import weakref
from functools import lru_cache
from pathlib import Path

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from relaydesk.settings import get_settings

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "hash_password",
    "needs_rehash",
    "password_problem",
    "verify_password",
    "verify_password_off_loop",
]

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verifying against this when the user does not exist keeps login timing uniform. Made on the
    first verification, not on import (an argon2 hash is tens to hundreds of milliseconds of a core on
    every process start), whether or not that sign-in's user exists, so the first one leaks nothing."""
    return _hasher.hash("relaydesk-timing-equaliser")


# The 10,000 most common passwords, lowercased (see common_passwords.md for where they come from).
_COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt.gz")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    dummy = _dummy_hash()
    try:
        return _hasher.verify(password_hash or dummy, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# One limiter per event loop (a limiter belongs to the loop that made it; tests run several).
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


async def verify_password_off_loop(password_hash: str | None, password: str) -> bool:
    """``verify_password`` in a worker thread, at most ``password_hash_concurrency`` at once.

    argon2 takes tens of milliseconds of a core: a flood of sign-ins must neither block the event loop
    nor fill the thread pool that every other synchronous route runs in. Waiting callers hold no thread.
    """
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(get_settings().password_hash_concurrency)
    return await anyio.to_thread.run_sync(verify_password, password_hash, password, limiter=limiter)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    with gzip.open(_COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def password_problem(password: str) -> str | None:
    """What is wrong with a new password, said so the person can fix it; None if it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Passwords need at least {MIN_PASSWORD_LENGTH} characters."
    folded = password.lower()
    repeats_a_short_unit = any(
        len(folded) % size == 0 and folded == folded[:size] * (len(folded) // size) for size in (1, 2, 3, 4)
    )
    if repeats_a_short_unit or len(set(folded)) < 4:
        return (
            "That password is a few characters repeated (like 'aaaaaaaaaa' or 'abcabcabca'); choose another."
        )
    if folded in _common_passwords():
        return "That password is one of the most commonly used passwords; choose another."
    return None
