"""Search keys: what each searchable document stores, and the query pieces that use them.

Every product, user and order carries two normalized token arrays (alawael.shared.text_search):

- `searchWords`: each word of its searchable fields (and, for Arabic words starting with
  the article ال, the word without it). "The term starts a word" is the range
  `[term, successor(term))` on this array: a multikey index answers it.
- `searchSuffixes`: those words again plus every inner suffix of at least two characters of
  the words of the short fields (names, SKU, category, email, order number). "The term is
  inside a word" is the same range on this array. Descriptions contribute whole words only:
  their suffixes would multiply the index for little use.

Why ranges and not `{"$regex": "^term"}`: the embedded SecantusDB plans anchored regexes as
collection scans; a range on an indexed field is an index scan there and in MongoDB. Why the
range is repeated inside `$elemMatch`: on an array, `{$gte: a, $lt: b}` may be satisfied by
two different elements; `$elemMatch` asks for one element in the range. The bare range
leads the pipeline (and picks the index), the `$elemMatch` makes the match exact.

The keys are written by every write path (products.create/update, users.create_user, orders
place_order, the demo seed) and by search_backfill.py, which runs once when the index set
changes (alawael.infra.db.ensure_indexes): bump `SEARCH_KEY_VERSION` there when the rules
change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from alawael.infra.db import Document
from alawael.shared.errors import BadUserInput
from alawael.shared.text_search import prefix_upper_bound, words

# The doors' description of a search parameter.
HELP = (
    "Each word matches the start of a word, or the inside of one (ranked after), in {fields}."
    " Arabic hamza, ta marbuta (ة) and alef maqsura (ى), tashkeel and tatweel, Arabic-Indic"
    " digits, and Latin case and accents are ignored."
)
WORDS = "searchWords"
SUFFIXES = "searchSuffixes"
# A projection leaving the keys out: reads that serve records never need them, and they
# would cost cache space and decoding (about 0.7 KB per product).
WITHOUT_KEYS = {WORDS: 0, SUFFIXES: 0}
MAX_WORD = 40  # longer "words" (hashes, URLs) are cut: index keys stay small
MIN_SUFFIX = 2
MAX_TERMS = 8
DEFAULT_MAX_SEARCH = 100
# The fields each collection's keys are made of (orders: number and the customer's name).
KEY_FIELDS = {
    "products": ("name", "sku", "category", "description"),
    "users": ("name", "email"),
}


ARTICLE = "\u0627\u0644"  # the definite article al- (ال), written joined to its word


def _words(text: str | None) -> list[str]:
    found: list[str] = []
    for word in words(text or ""):
        found.append(word[:MAX_WORD])
        # "ساعة" should find "الساعة" at a word start: the word without its article is a
        # word too (the article itself is two letters: shorter words keep theirs).
        if word.startswith(ARTICLE) and len(word) >= len(ARTICLE) + MIN_SUFFIX:
            found.append(word[len(ARTICLE) :][:MAX_WORD])
    return found


def search_keys(short: Iterable[str | None], long: Iterable[str | None] = ()) -> Document:
    """The two key arrays for a document whose `short` fields (names, codes) are searched
    inside words and `long` fields (descriptions) at word starts only."""
    short_words = [w for text in short for w in _words(text)]
    all_words = list(dict.fromkeys(short_words + [w for text in long for w in _words(text)]))
    inner = [w[i:] for w in short_words for i in range(1, len(w) - MIN_SUFFIX + 1)]
    return {WORDS: all_words, SUFFIXES: list(dict.fromkeys(all_words + inner))}


def product_keys(doc: Mapping[str, Any]) -> Document:
    return search_keys(
        (doc.get("name"), doc.get("sku"), doc.get("category")), (doc.get("description"),)
    )


def user_keys(doc: Mapping[str, Any]) -> Document:
    return search_keys((doc.get("name"), doc.get("email")))


def order_keys(number: str, customer_name: str | None) -> Document:
    """An order is found by its number or its customer's name (copied at placing time;
    user names do not change after registration)."""
    return search_keys((number, customer_name))


def with_keys(collection: str, docs: list[Document], users: list[Document]) -> list[Document]:
    """Copies of `docs` (of `collection`) with their search keys, for bulk loads that
    bypass the services (the demo seed). `users`: where orders find their customer."""
    if collection == "orders":
        names = {user["_id"]: user.get("name") for user in users}
        return [{**d, **order_keys(d["number"], names.get(d["userId"]))} for d in docs]
    keys = product_keys if collection == "products" else user_keys
    return [{**d, **keys(d)} for d in docs]


# --- queries ---------------------------------------------------------------------------


def search_terms(
    raw: str | None, *, field: str = "search", max_length: int = DEFAULT_MAX_SEARCH
) -> list[str] | None:
    """The normalized words of a search box, longest first (the most selective one leads
    the query). None when no search was asked (absent or blank): no text filter. An empty
    list when the text holds no letter or digit (".*", "؟", a lone diacritic): nothing
    can match it."""
    text = (raw or "").strip()
    if not text:
        return None
    if len(text) > max_length:
        raise BadUserInput(f"Search must be at most {max_length} characters.", field=field)
    terms = [w[:MAX_WORD] for w in words(text)]
    if len(terms) > MAX_TERMS:
        raise BadUserInput(f"Search at most {MAX_TERMS} words at a time.", field=field)
    return sorted(terms, key=len, reverse=True)


def _range(term: str) -> Document:
    upper = prefix_upper_bound(term)
    return {"$gte": term} if upper is None else {"$gte": term, "$lt": upper}


def _every(field: str, terms: list[str]) -> list[Document]:
    return [{field: {"$elemMatch": _range(term)}} for term in terms]


# Ranks, best first: every term starts a word; every term is at least inside a word.
WORD_START, INSIDE_WORD = 0, 1
RANKS = (WORD_START, INSIDE_WORD)


def _anywhere(terms: list[str]) -> list[Document]:
    # Inner suffixes shorter than MIN_SUFFIX are not stored, so a shorter term matches word
    # starts only ("customer 1" must not find every email with a 1 inside).
    return [{SUFFIXES if len(t) >= MIN_SUFFIX else WORDS: {"$elemMatch": _range(t)}} for t in terms]


def _lead(terms: list[str]) -> Document:
    # terms[0] is the longest term: the narrowest index range.
    return {SUFFIXES if len(terms[0]) >= MIN_SUFFIX else WORDS: _range(terms[0])}


def rank_stages(rank: int, terms: list[str]) -> tuple[Document, list[Document]] | None:
    """(leading index range, exact conditions) selecting the documents of `rank`, or None
    when no document can have that rank."""
    if rank == WORD_START:
        return {WORDS: _range(terms[0])}, _every(WORDS, terms)
    if len(terms[0]) < MIN_SUFFIX:
        return None  # only one-character terms: they match word starts only
    not_word_start = {"$or": [{WORDS: {"$not": c[WORDS]}} for c in _every(WORDS, terms)]}
    return _lead(terms), [*_anywhere(terms), not_word_start]


def any_rank_stages(terms: list[str]) -> tuple[Document, list[Document]]:
    """All matches, whatever their rank (SUFFIXES holds every word too): for counting."""
    return _lead(terms), _anywhere(terms)
