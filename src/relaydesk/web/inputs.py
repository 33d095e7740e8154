"""Text from outside is checked once, at the edge, the same way on SQLite and PostgreSQL.

PostgreSQL cannot store a NUL character in a text column and no UTF-8 database can store a lone
surrogate (a JSON ``"\\ud800"``); SQLite took both. Both are refused here with a 422 that names the
field, before any service sees them:

- ``reject_invalid_text``: an app-wide dependency over what FastAPI parses for every route (path and
  query parameters, JSON bodies, form fields; uploaded files are bytes and pass).
- ``Text``: the same rule as a pydantic type, for models validated by hand (the chat message body,
  provider webhooks, WebSocket frames), where a refused signed webhook is quarantined with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator
from starlette.requests import HTTPConnection, Request

__all__ = ["Text", "check_text", "reject_invalid_text", "text_problem"]

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def text_problem(value: str) -> str | None:
    """Why this text cannot be stored, or None when it can."""
    if "\x00" in value:
        return "contains a NUL character (\\x00); remove it"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text (a lone surrogate); send UTF-8 text"
    return None


def check_text(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(f"the text {problem}")
    return value


Text = Annotated[str, AfterValidator(check_text)]


def _walk(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            yield loc, problem
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(key, (*loc, "(key)"))
            yield from _walk(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*loc, index))


async def reject_invalid_text(connection: HTTPConnection) -> None:
    """Refuse a request whose path, query or parsed body holds text no database can store."""
    found = [*_walk(dict(connection.path_params), ("path",))]
    for name, value in connection.query_params.multi_items():
        found += [(("query", ascii(name)), problem) for _, problem in _walk([name, value], ())]
    route = connection.scope.get("route")
    if isinstance(connection, Request) and getattr(route, "body_field", None) is not None:
        # FastAPI has already read the body for this route, so these calls return the cached copy.
        content_type = connection.headers.get("content-type", "")
        if content_type.startswith(_FORM_TYPES):
            form = await connection.form()
            found += [
                (("body", name), problem)
                for name, value in form.multi_items()
                if isinstance(value, str)
                for _, problem in _walk(value, ())
            ]
        else:
            try:
                body = json.loads(await connection.body() or b"null")
            except (ValueError, RecursionError):
                body = None  # FastAPI answers malformed JSON with its own 422
            found += _walk(body, ("body",))
    if found:
        raise RequestValidationError(
            [{"type": "invalid_text", "loc": loc, "msg": f"the text {problem}"} for loc, problem in found]
        )
