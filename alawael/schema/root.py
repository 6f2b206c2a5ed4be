"""The root Query, Mutation and Subscription, merged from the per-domain types.

Each domain module defines `<Domain>Query` / `<Domain>Mutation` / `<Domain>Subscription`
and is listed here once.
"""

from __future__ import annotations

from strawberry.tools import merge_types

from alawael.schema.system import SystemQuery

QUERIES: tuple[type, ...] = (SystemQuery,)
MUTATIONS: tuple[type, ...] = ()
SUBSCRIPTIONS: tuple[type, ...] = ()

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS) if MUTATIONS else None
Subscription = merge_types("Subscription", SUBSCRIPTIONS) if SUBSCRIPTIONS else None
