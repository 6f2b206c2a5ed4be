"""Text normalization for search: one function, used when a document is written and when a
term is searched, so both sides meet on the same spelling.

Arabic is typed loosely: most people leave out the hamza, write ه for a final ة and ي for ى,
and phone keyboards add tatweel (ـ) and diacritics. Latin text differs in case and accents.
`normalize` folds all of those away; `words` splits the result into the tokens the search
keys are made of.
"""

from __future__ import annotations

import re
import unicodedata

# Letters folded to the form most people type. The hamza forms that Unicode decomposes
# (أ إ آ ؤ ئ) also lose their hamza when marks are stripped; the table keeps the rule
# explicit and covers the ones without a decomposition (ٱ wasla, ة, ى).
_FOLD = {
    "أ": "ا",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",
    "ة": "ه",
    "ى": "ي",
    "ؤ": "و",
    "ئ": "ي",
    "ـ": "",  # tatweel: a stretch, not a letter
}
# Arabic-Indic (٠-٩) and Eastern Arabic-Indic (۰-۹) digits to ASCII: SKUs and order
# numbers are stored with 0-9, phones type either.
_DIGITS = {chr(0x0660 + d): str(d) for d in range(10)} | {
    chr(0x06F0 + d): str(d) for d in range(10)
}
_TABLE = str.maketrans(_FOLD | _DIGITS)

# A word: a run of letters and digits in any script (underscore and punctuation split).
_WORD = re.compile(r"[^\W_]+")


def _pass(text: str) -> str:
    # NFKC first: presentation forms (ﻷ, ﺔ), full-width Latin and ligatures become the plain
    # letters the table and case folding know.
    text = unicodedata.normalize("NFKC", text).casefold()
    # Decompose and drop every nonspacing mark: Latin accents (é -> e), Arabic harakat and
    # tanween, the superscript alef, and the hamza/madda carried by أ إ آ ؤ ئ.
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFKC", text.translate(_TABLE))


def normalize(text: str) -> str:
    """The search form of `text`: NFKC, Latin case folded and accents removed, Arabic alef
    forms to ا, ة to ه, ى to ي, ؤ to و, ئ to ي, tatweel and tashkeel removed, Arabic-Indic
    digits to 0-9. Idempotent: normalize(normalize(t)) == normalize(t).

    >>> normalize("أَبْيَـــض")
    'ابيض'
    >>> normalize("Café ١٢٣")
    'cafe 123'
    """
    once = _pass(text)
    # Case folding or NFKC can (rarely) produce a character another step would fold
    # again (e.g. a folded letter recomposing with a mark); a second pass settles it.
    return _pass(once)


def words(text: str) -> list[str]:
    """The distinct words of the normalized `text`, in order of first appearance."""
    return list(dict.fromkeys(_WORD.findall(normalize(text))))


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with `prefix` (MongoDB
    compares strings by UTF-8 bytes, which is code point order): the prefix with its last
    character incremented. `{"$gte": p, "$lt": prefix_upper_bound(p)}` is "starts with p"
    as an index range. None when no such string exists (a prefix of U+10FFFF only)."""
    for cut in range(len(prefix) - 1, -1, -1):
        code = ord(prefix[cut]) + 1
        if 0xD800 <= code <= 0xDFFF:
            code = 0xE000  # surrogates can't be encoded; the next real character
        if code <= 0x10FFFF:
            return prefix[:cut] + chr(code)
    return None
