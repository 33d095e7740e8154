"""Interface text in the customer's language: Babel message catalogues and Jinja2's i18n extension.

Catalogues live in ``web/locales/<locale>/LC_MESSAGES/messages.po`` (extracted from the templates with
``pybabel``, see the README). They are compiled in memory the first time a locale is asked for, so a
fresh clone or an installed wheel needs no build step and no compiled ``.mo`` file can go stale.
English is the source language: its text is the templates' own, and any locale without a catalogue
(or a message without a translation) shows it.

Templates mark text with ``{% trans %}…{% endtrans %}`` or ``_("…")``; the page passes
``translations=translations_for(locale)`` in its context (``i18n_context`` adds the language too).
"""

from __future__ import annotations

import io
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES_DIR",
    "i18n_context",
    "install",
    "interface_locale",
    "supported_locales",
    "translations_for",
]

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LOCALE = "en"
_lock = threading.Lock()


@lru_cache(maxsize=1)
def supported_locales() -> frozenset[str]:
    """English and every locale with a catalogue."""
    found = {p.parent.parent.name for p in LOCALES_DIR.glob("*/LC_MESSAGES/messages.po")}
    return frozenset({DEFAULT_LOCALE, *found})


def interface_locale(locale: str) -> str:
    """The language the interface can speak for ``locale`` ("es-mx" → "es"; unknown → English)."""
    locale = locale.lower().replace("_", "-")
    for candidate in (locale, locale.split("-", 1)[0]):
        if candidate in supported_locales():
            return candidate
    return DEFAULT_LOCALE


@lru_cache(maxsize=32)
def _compiled(locale: str) -> NullTranslations:
    path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def translations_for(locale: str) -> NullTranslations:
    with _lock:  # one compile per locale even when the first requests arrive together
        return _compiled(interface_locale(locale))


def i18n_context(locale: str) -> dict[str, Any]:
    """What a translated page's template needs: its translations and the language for ``<html lang>``."""
    return {"translations": translations_for(locale), "lang": interface_locale(locale)}


def _translations(context: Context) -> NullTranslations:
    found = context.get("translations")
    return found if isinstance(found, NullTranslations) else NullTranslations()


@pass_context
def _gettext(context: Context, message: str) -> str:
    return _translations(context).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return _translations(context).ngettext(singular, plural, n)


def install(environment: Environment) -> None:
    """Jinja2's i18n extension with per-render translations (from the template's context), newstyle:
    ``_("Hello %(name)s", name=…)`` escapes its variables like any other output."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
