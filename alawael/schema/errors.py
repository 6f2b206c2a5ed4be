"""How errors reach GraphQL clients.

- `AppError` raised anywhere keeps its message and `extensions.code` (graphql-core copies
  the original error's `extensions`).
- MongoDB being unreachable becomes SERVICE_UNAVAILABLE.
- Anything else is a bug: masked as INTERNAL_SERVER_ERROR (with the request id, so support
  can find the log line), logged with its traceback and sent to Sentry by `ErrorSchema`.
- Mutations list expected domain errors in their payload's `errors` (see `UserError`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult
from strawberry.types.graphql import OperationType

from alawael.infra.observers import report_error
from alawael.shared.errors import UNAVAILABLE_ERRORS, AppError, ErrorCode

log = logging.getLogger("alawael.errors")


# Codes that are not "your input was wrong" but "you may not / cannot right now": they stay
# top-level GraphQL errors even inside mutations, so clients handle them in one place.
_TOP_LEVEL_CODES = {
    ErrorCode.UNAUTHENTICATED,
    ErrorCode.FORBIDDEN,
    ErrorCode.RATE_LIMITED,
    ErrorCode.SERVICE_UNAVAILABLE,
}


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or isinstance(original, AppError | GraphQLError):
        return False
    if is_invalid_input_value(error):
        return False
    return not isinstance(original, UNAVAILABLE_ERRORS)


# graphql-core's messages when a scalar's parser rejects an inline literal (validation) or a
# variable (coercion); both keep the parser's ValueError as `original_error`.
_INVALID_VALUE_PREFIXES = ("Expected value of type ", "Variable '$")


def is_invalid_input_value(error: GraphQLError) -> bool:
    """A scalar refused the client's value (e.g. Money "abc"): bad input, not a bug. Found
    by tests/reliability/test_fuzz_graphql.py, which got INTERNAL_SERVER_ERROR for it.
    Resolver errors always have a path; these never do."""
    return (
        error.path is None
        and isinstance(error.original_error, ValueError | TypeError)
        and error.message.startswith(_INVALID_VALUE_PREFIXES)
    )


def request_id_of(execution_context: Any) -> str | None:
    context = getattr(execution_context, "context", None)
    return getattr(context, "request_id", None)


def shape_error(error: GraphQLError, request_id: str | None) -> GraphQLError:
    original = error.original_error
    if isinstance(original, UNAVAILABLE_ERRORS):
        return GraphQLError(
            "The database is unavailable; try again shortly.",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": ErrorCode.SERVICE_UNAVAILABLE.value},
        )
    if is_unexpected(error):
        ext: dict[str, Any] = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value}
        if request_id:
            ext["requestId"] = request_id
        return GraphQLError("Unexpected error.", nodes=error.nodes, path=error.path, extensions=ext)
    if not error.extensions or "code" not in error.extensions:
        # Parse and validation errors come from graphql-core without a code.
        code = (
            "GRAPHQL_PARSE_FAILED"
            if "Syntax Error" in error.message
            else "GRAPHQL_VALIDATION_FAILED"
        )
        if original is None and error.path is not None:
            code = ErrorCode.BAD_USER_INPUT.value
        error.extensions = {**(error.extensions or {}), "code": code}
    return error


class ShapeErrors(SchemaExtension):
    """Rewrites the result's errors as described in the module docstring."""

    def on_operation(self) -> Iterator[None]:
        yield
        # Subscription events were shaped one by one in on_stream_result; shaping the last
        # one again here would count its errors twice.
        ctx = self.execution_context
        if ctx.graphql_document is None or ctx.operation_type is not OperationType.SUBSCRIPTION:
            self._shape(ctx.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # Each subscription event is its own result; without this hook a resolver error in
        # an event would reach the client unmasked (on_operation ends with the socket).
        self._shape(result)
        yield

    def _shape(self, result: Any) -> None:
        if not isinstance(result, GraphQLExecutionResult | ExecutionResult) or not result.errors:
            return
        rid = request_id_of(self.execution_context)
        result.errors = [shape_error(e, rid) for e in result.errors]
        for error in result.errors:
            report_error("graphql", str((error.extensions or {}).get("code", "UNKNOWN")))


@strawberry.type(
    description="An expected error from a mutation: a stable code, the input field it is "
    "about (if any), and a message for humans."
)
class UserError:
    code: str
    message: str
    field: str | None = None

    @classmethod
    def from_app_error(cls, error: AppError) -> UserError:
        return cls(code=error.code.value, message=error.message, field=error.field)


P = TypeVar("P")


async def run_mutation(
    payload: Callable[..., P], action: Callable[[], Awaitable[dict[str, Any]]]
) -> P:
    """Run a service call and wrap its result in `payload(**result, errors=[])`; expected
    domain errors become `payload(errors=[UserError])`. Auth, rate-limit and availability
    errors stay top-level GraphQL errors."""
    try:
        result = await action()
    except AppError as exc:
        if exc.code in _TOP_LEVEL_CODES:
            raise
        return payload(errors=[UserError.from_app_error(exc)])
    return payload(**result, errors=[])
