"""Whole-operation result cache for read-only catalogue/order queries (OPERATION_CACHE=true).

The dashboard query (50 orders with customers and products) spends ~55 ms of CPU in
graphql-core resolving ~1,600 fields; caching its parts cannot remove that, caching the
finished result can. A result is cached per caller (user id and role, or anonymous), query text,
operation name and variables, in the resolver cache (Redis or in-process) under the scopes
that every write to what it shows already bumps: `orders`, `products`, `categories`,
`users`. So a write is visible on the next request, as with any cached resolver.

Only documents whose root fields are all in `ROOT_FIELDS` and that touch none of
`UNSCOPED_FIELDS` (data changed without a scope bump, e.g. notifications' read flags) are
cached; mutations, subscriptions and results with errors never are. Authentication runs
before this (the view builds the context first), so a revoked token is refused as usual.

What is stored is the finished response body (`{"data": ...}` as orjson writes it) and its
gzip (`encode_answer`): a hit served by `alawael.schema.cached_answer` sends those bytes as
they are, without Strawberry, BSON decoding, JSON encoding or compression per request. A hit
that reaches this mixin (no fast path: no Redis, GET, persisted queries) decodes the body.
"""

from __future__ import annotations

import functools
import gzip
from typing import Any

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    parse,
    visit,
)
from graphql.language import Visitor
from strawberry.types import ExecutionResult

from alawael.context import Context

ROOT_FIELDS = frozenset({"orders", "order", "products", "product", "productBySku", "categories"})
UNSCOPED_FIELDS = frozenset({"notifications", "unreadNotificationCount", "auditTrail"})
SCOPES = ("orders", "products", "categories", "users")
# Not "operation" (the name of the earlier data-only format): the value shape differs.
CACHE_NAME = "operation-body"
# The level of the GZipMiddleware (alawael.server): stored bodies compress like live ones.
GZIP_LEVEL = 6


def visibility(user_id: str | None, role: str | None) -> str:
    """What decides what the caller may see, for the key: the user and the role (see
    `OperationCacheMixin.execute_single` for why the role too), or anonymous."""
    return f"{user_id}:{role}" if user_id is not None else "anonymous"


def key_parts(
    visible_to: str, operation_name: str | None, query: str, variables: dict[str, Any] | None
) -> list[str]:
    """The cache key of one operation; the fast path and the mixin must build the same."""
    encoded = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS).decode()
    return [visible_to, operation_name or "", query, encoded]


def encode_answer(data: Any) -> dict[str, bytes]:
    """The stored value: the response body as the view would encode it, and its gzip
    (computed once per fill instead of once per hit)."""
    body = orjson.dumps({"data": data})
    return {"body": body, "gzip": gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)}


class _Fields(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self.names.add(node.name.value)


@functools.lru_cache(maxsize=512)
def cacheable(query: str, operation_name: str | None) -> bool:
    """Whether this document's selected operation may be served from the cache."""
    try:
        document = parse(query)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return False
    root = operations[0].selection_set.selections
    if not root or not all(isinstance(s, FieldNode) and s.name.value in ROOT_FIELDS for s in root):
        return False
    fields = _Fields()
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            visit(definition, fields)
    return not fields.names & UNSCOPED_FIELDS


class _NotCached(Exception):
    """A control-flow signal carrying a result that must not be stored (it has errors)."""

    def __init__(self, result: ExecutionResult) -> None:
        super().__init__("result not cacheable")
        self.result = result


class OperationCacheMixin:
    """For the GraphQL view, between the protocol layer (persisted queries resolved, budgets
    charged) and Strawberry's execution."""

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        context: Context | None = kwargs.get("context")
        data = kwargs.get("request_data")
        adapter = kwargs.get("request_adapter")
        if context is None or data is None or adapter is None:  # called positionally: no cache
            return await super().execute_single(*args, **kwargs)  # type: ignore[misc,no-any-return]
        settings = context.resources.settings
        method = adapter.method
        if (
            not settings.operation_cache
            or context.auth_error is not None
            or not isinstance(data.query, str)
            or method not in ("GET", "POST")
            or not cacheable(data.query, data.operation_name)
        ):
            return await super().execute_single(*args, **kwargs)  # type: ignore[misc,no-any-return]
        # Everything that decides what the caller may see belongs in the key: the user and
        # the role. With the user alone, a worker whose session check still said STAFF just
        # after a demotion computed a staff result under the new `users` generation, and the
        # demoted user was served it from the cache for the rest of its TTL.
        user = (
            visibility(context.user.user_id, context.user.role.value)
            if context.user
            else visibility(None, None)
        )
        data_out: list[Any] = []

        async def compute() -> Any:
            result: ExecutionResult = await super(OperationCacheMixin, self).execute_single(  # type: ignore[misc]
                *args, **kwargs
            )
            if result.errors or result.data is None:
                raise _NotCached(result)
            data_out.append(result.data)  # this request answers from it, not from the bytes
            return encode_answer(result.data)

        try:
            value = await context.resources.cache.get_or_compute(
                CACHE_NAME,
                key_parts(user, data.operation_name, data.query, data.variables),
                scopes=SCOPES,
                ttl=settings.cache_ttl_seconds,
                compute=compute,
            )
        except _NotCached as exc:
            return exc.result
        if data_out:
            return ExecutionResult(data=data_out[0], errors=None)
        return ExecutionResult(data=orjson.loads(value["body"])["data"], errors=None)
