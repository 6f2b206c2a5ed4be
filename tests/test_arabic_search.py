"""Issue 21: search that works the way Arabic speakers type, through both doors.

Products are written through the service (so through its search keys) and searched through
GraphQL and REST; every case asserts both doors give the same SKUs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alawael.auth.permissions import Actor, Role
from alawael.context import Resources
from alawael.services import products
from alawael.shared.text_search import normalize, prefix_upper_bound, words
from tests.support.graphql import execute

MANAGER = Actor(user_id="0" * 24, role=Role.MANAGER)
PRODUCTS = """
query($filter: ProductFilter, $sort: ProductSort, $first: Int, $after: String,
      $last: Int, $before: String) {
  products(filter: $filter, sort: $sort, first: $first, after: $after, last: $last,
           before: $before) {
    totalCount
    edges { cursor node { sku name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
NAME_ASC = {"field": "NAME", "direction": "ASC"}


async def add(res: Resources, sku: str, name: str, **kw: Any) -> None:
    data = products.ProductData(sku=sku, name=name, price_cents=1000, stock=5, **kw)
    await products.create_product(res, MANAGER, data)


async def gql_skus(res: Resources, term: str, sort: dict[str, str] | None = None) -> list[str]:
    result = await execute(res, PRODUCTS, {"filter": {"search": term}, "sort": sort})
    assert result.errors is None, result.errors
    return [edge["node"]["sku"] for edge in result.data["products"]["edges"]]


async def rest_skus(client: httpx.AsyncClient, term: str, sort: str = "-createdAt") -> list[str]:
    response = await client.get("/api/products", params={"q": term, "sort": sort})
    assert response.status_code == 200, response.text
    return [p["sku"] for p in response.json()["data"]]


async def both(res: Resources, client: httpx.AsyncClient, term: str) -> list[str]:
    """The SKUs a term finds (sorted by name), asserting GraphQL and REST agree."""
    via_graphql = await gql_skus(res, term, NAME_ASC)
    assert via_graphql == await rest_skus(client, term, "name"), term
    return via_graphql


# --- the normalization function ------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ابيض", "أبيض"),
        ("اقلام", "أقلام"),
        ("ساعه", "ساعة"),
        ("مستشفي", "مستشفى"),
        ("مسوول", "مسؤول"),
        ("رييس", "رئيس"),
        ("اسلام", "إسلام"),
        ("امال", "آمال"),
        ("الله", "ٱلله"),
        ("ابيض", "أَبْيَـــض"),  # tashkeel and tatweel
        ("123", "١٢٣"),
        ("123", "۱۲۳"),
        ("cafe", "Café"),
        ("ecole", "ÉCOLE"),
        ("strasse", "Straße"),
    ],
)
def test_normalize_folds_the_variants_people_type(typed: str, stored: str) -> None:
    assert normalize(stored) == normalize(typed) == typed


def test_words_split_on_punctuation_and_keep_first_appearance() -> None:
    assert words("OFF-٠٠١٢ أقلام، أقلام جل") == ["off", "0012", "اقلام", "جل"]
    assert words(".*") == []


# Any text, and text from the Arabic block and the Arabic presentation forms (where NFKC,
# the letter table and mark stripping interact most).
ANY_TEXT = (
    st.text()
    | st.text(st.characters(min_codepoint=0x0600, max_codepoint=0x06FF))
    | st.text(st.characters(min_codepoint=0xFB50, max_codepoint=0xFEFF))
)


@settings(max_examples=500, derandomize=True)
@given(ANY_TEXT)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=200, derandomize=True)
@given(st.text(min_size=1), st.text())
def test_prefix_upper_bound_bounds_exactly_the_strings_with_that_prefix(
    prefix: str, rest: str
) -> None:
    upper = prefix_upper_bound(prefix)
    assert upper is None or prefix <= prefix + rest < upper


# --- the issue's table, both ways, both doors -----------------------------------------


async def test_issue_table_and_its_reverse(resources: Resources, client: httpx.AsyncClient) -> None:
    await add(resources, "W-1", "ماوس أبيض")
    await add(resources, "W-2", "ماوس ابيض")
    await add(resources, "P-1", "أقلام جل")
    await add(resources, "P-2", "اقلام سبورة")
    await add(resources, "S-1", "ساعة ذكية")
    await add(resources, "S-2", "ساعه حائط")
    await add(resources, "X-1", "حقيبة سوداء")
    for typed in ("ابيض", "أبيض", "إبيض"):
        assert sorted(await both(resources, client, typed)) == ["W-1", "W-2"], typed
    for typed in ("اقلام", "أقلام"):
        assert sorted(await both(resources, client, typed)) == ["P-1", "P-2"], typed
    for typed in ("ساعه", "ساعة"):
        assert sorted(await both(resources, client, typed)) == ["S-1", "S-2"], typed
    # ى and ي meet, and so do the two spellings of a word-final ة inside a phrase.
    await add(resources, "H-1", "حلوى التمر")
    assert await both(resources, client, "حلوي") == ["H-1"]
    assert await both(resources, client, "ساعه ذكيه") == ["S-1"]


async def test_tatweel_diacritics_digits_and_accents(
    resources: Resources, client: httpx.AsyncClient
) -> None:
    await add(resources, "OFF-0012", "أقلام جل")
    await add(resources, "CAF-1", "Café Latte")
    await add(resources, "CAF-2", "CAFE NOIR")
    await add(resources, "TEA-1", "شاي أخضر")
    assert await both(resources, client, "أَقْلَـــام") == ["OFF-0012"]
    assert await both(resources, client, "اقلـام") == ["OFF-0012"]
    # An SKU typed with Arabic-Indic (or Eastern Arabic-Indic) digits.
    assert await both(resources, client, "off-٠٠١٢") == ["OFF-0012"]
    assert await both(resources, client, "۰۰۱۲") == ["OFF-0012"]
    assert await both(resources, client, "cafe") == ["CAF-2", "CAF-1"]
    assert await both(resources, client, "CAFÉ") == ["CAF-2", "CAF-1"]
    # Text with nothing searchable in it matches nothing (not everything).
    assert await both(resources, client, ".*") == []
    assert await both(resources, client, "ـ") == []


async def test_category_and_description_are_searched(
    resources: Resources, client: httpx.AsyncClient
) -> None:
    await add(resources, "C-1", "Gel Pens", category="مستلزمات مكتبية")
    await add(resources, "D-1", "Ream", description="ورق طباعة أبيض")
    assert await both(resources, client, "مكتبيه") == ["C-1"]
    assert await both(resources, client, "طباعه") == ["D-1"]


# --- ranking and pages -----------------------------------------------------------------


async def test_word_starts_rank_before_matches_inside_words(
    resources: Resources, client: httpx.AsyncClient
) -> None:
    await add(resources, "A-1", "Smartwatch Pro")  # inside a word
    await add(resources, "A-2", "Watch Strap")  # starts a word
    await add(resources, "A-3", "Apple Watch")  # starts a word
    await add(resources, "A-4", "Stopwatch")  # inside a word
    await add(resources, "A-5", "Wall Clock")  # no match
    # Within each rank, the requested sort (name A-Z).
    assert await both(resources, client, "watch") == ["A-3", "A-2", "A-1", "A-4"]
    # A one-letter term only matches word starts (inner suffixes are not indexed).
    assert await both(resources, client, "s") == ["A-1", "A-4", "A-2"]


async def walk_pages(res: Resources, term: str, size: int, *, backwards: bool) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page: dict[str, Any] = {"last": size, "before": cursor} if backwards else {}
        if not backwards:
            page = {"first": size, "after": cursor}
        result = await execute(res, PRODUCTS, {"filter": {"search": term}, **page})
        assert result.errors is None, result.errors
        got = result.data["products"]
        skus = [edge["node"]["sku"] for edge in got["edges"]]
        assert len(skus) <= size
        seen = skus + seen if backwards else seen + skus
        info = got["pageInfo"]
        if not (info["hasPreviousPage"] if backwards else info["hasNextPage"]):
            return seen
        cursor = info["startCursor"] if backwards else info["endCursor"]


async def test_pages_cross_ranks_without_duplicates_or_gaps(resources: Resources) -> None:
    for i in range(7):
        await add(resources, f"W{i}", f"ابيض {i}")  # word start
        await add(resources, f"M{i}", f"قلم زابيض {i}")  # inside a word
    await add(resources, "N-1", "أسود")
    everything = await gql_skus(resources, "أبيض")
    assert len(everything) == 14
    # Word starts first (newest first within the rank: the default sort), then the rest.
    assert everything[:7] == [f"W{i}" for i in reversed(range(7))]
    assert everything[7:] == [f"M{i}" for i in reversed(range(7))]
    for size in (1, 3, 5, 7, 20):
        assert await walk_pages(resources, "أبيض", size, backwards=False) == everything
        assert await walk_pages(resources, "أبيض", size, backwards=True) == everything
    total = await execute(resources, PRODUCTS, {"filter": {"search": "ابيض"}, "first": 2})
    assert total.data["products"]["totalCount"] == 14


async def test_search_keys_follow_updates(resources: Resources, client: httpx.AsyncClient) -> None:
    data = products.ProductData(sku="U-1", name="ساعة", price_cents=100, stock=1)
    doc = await products.create_product(resources, MANAGER, data)
    assert await both(resources, client, "ساعه") == ["U-1"]
    renamed = products.ProductData(name="إبريق شاي")
    await products.update_product(resources, MANAGER, doc.id, renamed)
    assert await both(resources, client, "ساعه") == []
    assert await both(resources, client, "ابريق") == ["U-1"]
    # Changing the SKU alone keeps the name searchable and the new SKU findable.
    await products.update_product(resources, MANAGER, doc.id, products.ProductData(sku="K-9"))
    assert await both(resources, client, "ابريق") == ["K-9"]
    assert await both(resources, client, "k-٩") == ["K-9"]


async def test_too_long_or_too_many_words_is_bad_input(
    resources: Resources, client: httpx.AsyncClient
) -> None:
    for term in ("ا" * 101, " ".join(f"كلمة{i}" for i in range(9))):
        result = await execute(resources, PRODUCTS, {"filter": {"search": term}})
        assert result.errors
        assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"
        response = await client.get("/api/products", params={"q": term})
        assert 400 <= response.status_code < 500
