"""The languages the API writes to people in (mails today): English and Arabic."""

from __future__ import annotations

from enum import StrEnum


class Locale(StrEnum):
    EN = "en"
    AR = "ar"


DEFAULT_LOCALE = Locale.EN


def locale_of(doc: dict[str, object]) -> Locale:
    """A user's locale; accounts created before locales existed read as English."""
    value = doc.get("locale")
    return Locale(value) if value in Locale._value2member_map_ else DEFAULT_LOCALE
