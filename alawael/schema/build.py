"""Building the Strawberry schema: types per domain, composed in `root`. Built only when asked
(create_app once per worker, `alawael export-schema`), never as a side effect of an import."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from typing import Any

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig

from alawael.config import Settings
from alawael.realtime.shared_render import SharedRenderExecutor
from alawael.schema.errors import ShapeErrors, is_unexpected, request_id_of
from alawael.schema.fast_execution import FastLeafExecutionContext, install_lean_resolvers
from alawael.schema.root import Mutation, Query, Subscription
from alawael.schema.scalars import SCALAR_MAP

log = logging.getLogger("alawael.errors")


class ErrorSchema(strawberry.Schema):
    """Logs unexpected errors with their traceback and request id (Sentry's logging
    integration forwards them); expected errors are the client's business, not the log's.

    `fast_path` (GRAPHQL_FAST_PATH): prefetch and the leaf fast path (see Settings)."""

    fast_path: bool = True

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        for error in errors:
            if is_unexpected(error):
                log.error(
                    "unexpected error in GraphQL resolver",
                    exc_info=error.original_error,
                    extra={"request_id": request_id_of(execution_context), "path": error.path},
                )


class FastExecutor(SharedRenderExecutor, FastLeafExecutionContext):
    """Both executors: subscription events rendered once per visibility scope
    (alawael.realtime.shared_render: `execute_operation`) and the leaf fast path
    (alawael.schema.fast_execution: `execute_fields`); each overrides a different step."""


def build_schema(
    settings: Settings | None = None, *, production: bool | None = None
) -> ErrorSchema:
    """Build the schema. Validation rules and extensions are instantiated once here, so the
    parser and validation caches stay effective (strawberry#4635)."""
    if production is None:
        production = settings.is_production if settings is not None else False
    from alawael.protect.graphql_limits import schema_extensions

    # Limits (depth, aliases, tokens, cost), introspection off in production, and the
    # parser/validation caches: rule classes built once here (alawael.protect.graphql_limits).
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        ShapeErrors,
        *schema_extensions(settings, production=production),
    ]
    max_batch = settings.graphql_max_batch if settings is not None else 10
    fast = settings.graphql_fast_path if settings is not None else True
    schema = ErrorSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=FastExecutor if fast else SharedRenderExecutor,
        config=StrawberryConfig(
            disable_field_suggestions=production,
            scalar_map=SCALAR_MAP,
            batching_config={"max_operations": max_batch},
        ),
    )
    schema.fast_path = fast
    if fast:
        install_lean_resolvers(schema)
    return schema


@cache
def exported_schema() -> ErrorSchema:
    """The schema as exported to schema.graphql (production switches change no types); built
    on the first call, then shared (the CLI, tests and benchmarks use it)."""
    return build_schema(production=False)
