"""Errors a client can act on.

One exception type, `AppError`, carries a stable machine-readable `code`, an optional
`field` and a human message. GraphQL shows it as `extensions.code` (graphql-core copies an
original error's `extensions` onto the located GraphQLError); mutation payloads list it in
`errors`; the REST shim maps the code to an HTTP status. Anything else is a bug: it is
masked for clients and reported to the log and Sentry.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pymongo.errors import AutoReconnect, ConnectionFailure, ServerSelectionTimeoutError

# MongoDB being unreachable: SERVICE_UNAVAILABLE for the client, not a bug.
UNAVAILABLE_ERRORS = (ServerSelectionTimeoutError, ConnectionFailure, AutoReconnect)


class ErrorCode(StrEnum):
    BAD_USER_INPUT = "BAD_USER_INPUT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    RATE_LIMITED = "RATE_LIMITED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


# The REST status for each code; GraphQL keeps 200 and puts the code in extensions.
HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_USER_INPUT: 422,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.INSUFFICIENT_STOCK: 409,
    ErrorCode.INVALID_TRANSITION: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.PERSISTED_QUERY_NOT_FOUND: 400,
    ErrorCode.PERSISTED_QUERY_NOT_ALLOWED: 400,
    ErrorCode.QUERY_TOO_COMPLEX: 400,
    ErrorCode.INTERNAL_SERVER_ERROR: 500,
}


class AppError(Exception):
    """An expected error with a stable code. Raise it from services."""

    code: ErrorCode = ErrorCode.BAD_USER_INPUT

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
        field: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
        self.details = details or {}

    @property
    def extensions(self) -> dict[str, Any]:
        ext: dict[str, Any] = {"code": self.code.value}
        if self.field:
            ext["field"] = self.field
        ext.update(self.details)
        return ext

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]


class BadUserInput(AppError):
    code = ErrorCode.BAD_USER_INPUT


class Unauthenticated(AppError):
    code = ErrorCode.UNAUTHENTICATED

    def __init__(self, message: str = "Authentication required.", **kw: Any) -> None:
        super().__init__(message, **kw)


class Forbidden(AppError):
    code = ErrorCode.FORBIDDEN


class NotFound(AppError):
    code = ErrorCode.NOT_FOUND


class Conflict(AppError):
    code = ErrorCode.CONFLICT


class InsufficientStock(AppError):
    code = ErrorCode.INSUFFICIENT_STOCK


class InvalidTransition(AppError):
    code = ErrorCode.INVALID_TRANSITION


class RateLimited(AppError):
    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: int, **kw: Any) -> None:
        super().__init__(message, details={"retryAfter": retry_after}, **kw)
        self.retry_after = retry_after


class ServiceUnavailable(AppError):
    code = ErrorCode.SERVICE_UNAVAILABLE

    def __init__(
        self, message: str = "A backing service is unavailable; try again shortly.", **kw: Any
    ) -> None:
        super().__init__(message, **kw)
