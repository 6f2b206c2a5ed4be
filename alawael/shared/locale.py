"""The languages the API writes to people in (mails today): English and Arabic."""

from __future__ import annotations

from enum import StrEnum


class Locale(StrEnum):
    EN = "en"
    AR = "ar"


DEFAULT_LOCALE = Locale.EN
_VALUES = frozenset(locale.value for locale in Locale)


def locale_of(doc: dict[str, object]) -> Locale:
    """A user's locale; accounts created before locales existed read as English."""
    value = doc.get("locale")
    return Locale(value) if isinstance(value, str) and value in _VALUES else DEFAULT_LOCALE


def is_locale(value: object) -> bool:
    return isinstance(value, str) and value in _VALUES
