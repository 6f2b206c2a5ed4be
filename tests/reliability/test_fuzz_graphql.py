"""Schema-driven fuzzing: hypothesis-graphql writes random operations (valid ones, and ones
with exactly one schema violation) from our own schema; each is sent over HTTP as an admin
and as an anonymous client.

Pass: no 5xx, never INTERNAL_SERVER_ERROR (an unmasked or masked bug), and afterwards the
data still satisfies every invariant (stock >= 0, totals add up, orders audited).
Examples are drawn deterministically (derandomize, no example database), then executed;
REST is fuzzed from its OpenAPI document by tests/test_schemathesis.py (the REST owner's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis_graphql import Mode, from_schema, nodes

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.schema.build import exported_schema
from alawael.schema.node import to_global_id
from tests.reliability.support import User, check_invariants, make_product, make_token_user

schema = exported_schema()

# Per root field (each field gets its own examples: a derandomized run over the whole
# schema would keep drawing the first few fields).
EXAMPLES = {Mode.POSITIVE: 3, Mode.NEGATIVE: 1}
# Ending the admin's own session mid-run would turn the rest into anonymous requests.
SELF_ENDING = {"logout", "logoutAll", "setUserActive", "setUserRole"}


def _scalars(ids: Sequence[str]) -> dict[str, st.SearchStrategy[Any]]:
    # Arabic-Indic digits on purpose: a plausible input the Money parser must refuse cleanly.
    money = ["0", "0.01", "12.50", "-1", "1e3", "99999999999999.99", "abc", "", "١٢٫٥"]  # noqa: RUF001
    dates = ["2026-01-01T00:00:00Z", "2026-13-40T99:00:00", "yesterday", ""]
    return {
        "Money": st.sampled_from(money).map(nodes.String),
        "DateTime": st.sampled_from(dates).map(nodes.String),
        "JSON": st.sampled_from(['{"a": 1}', "[]", "null"]).map(nodes.String),
        "ID": st.sampled_from([*ids, "bad", "UHJvZHVjdDp4", ""]).map(nodes.String),
    }


def _draw(ids: Sequence[str], mode: Mode, count: int, fields: list[str]) -> list[str]:
    """`count` operations per root field, deterministically (runs in a worker thread)."""
    drawn: list[str] = []
    for name in fields:
        drawn += _draw_one(ids, mode, count, name)
    return drawn


def _draw_one(ids: Sequence[str], mode: Mode, count: int, name: str) -> list[str]:
    drawn: list[str] = []
    strategy = from_schema(
        schema._schema, custom_scalars=_scalars(ids), mode=mode, fields=[name], allow_x00=False
    )

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(query: str) -> None:
        drawn.append(query)

    try:
        collect()
    except InvalidArgument:
        # NEGATIVE mode on a field with no argument to violate (e.g. `me`): nothing to draw.
        assert mode is Mode.NEGATIVE
    return drawn


def _root_fields(*, admin: bool) -> list[str]:
    gql_schema = schema._schema
    assert gql_schema.query_type is not None
    names = list(gql_schema.query_type.fields)
    assert gql_schema.mutation_type is not None
    names += [n for n in gql_schema.mutation_type.fields if not (admin and n in SELF_ENDING)]
    return names


async def _run(client: httpx.AsyncClient, queries: list[str], user: User | None) -> dict[str, int]:
    seen = {"requests": 0, "with_errors": 0}
    headers = user.headers if user else {}
    for query in queries:
        r = await client.post("/graphql", json={"query": query}, headers=headers)
        seen["requests"] += 1
        assert r.status_code < 500, (query, r.text)
        body = r.json()
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
        assert "INTERNAL_SERVER_ERROR" not in codes, (query, body)
        assert all(codes), (query, body)  # every error carries a code
        seen["with_errors"] += bool(codes)
    return seen


@pytest.mark.slow
async def test_random_operations_never_break_the_server(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    pids = [await make_product(resources, f"FUZZ-{i}", 50) for i in range(3)]
    admin = await make_token_user(resources, Role.ADMIN)
    customer = await make_token_user(resources)
    ids = [to_global_id("Product", p) for p in pids] + [
        to_global_id("User", customer.actor.user_id)
    ]
    totals = {"requests": 0, "with_errors": 0}
    for mode, count in EXAMPLES.items():
        for user in (admin, None):
            fields = _root_fields(admin=user is not None)
            queries = await asyncio.to_thread(_draw, ids, mode, count, fields)
            # Small fields run out of variants; NEGATIVE skips fields without arguments.
            assert len(queries) >= len(fields) * (1 if mode is Mode.POSITIVE else 0.5)
            seen = await _run(client, queries, user)
            for k in totals:
                totals[k] += seen[k]
    assert totals["requests"] >= 2 * 30 * sum(EXAMPLES.values())
    assert 0 < totals["with_errors"] < totals["requests"]
    checked = await check_invariants(resources, every_order_audited=True)
    assert checked.problems == []
