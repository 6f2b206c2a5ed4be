"""One JSON error shape for every REST response: {"error": {"code", "message", "details"}}.

A 500 never carries a stack trace: the traceback goes to the log and Sentry with the
request id, and the client gets the request id to quote.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo.errors import PyMongoError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from alawael.infra.observers import report_error
from alawael.shared.errors import UNAVAILABLE_ERRORS, AppError, ErrorCode

log = logging.getLogger("alawael.errors")

_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: ErrorCode.UNAUTHENTICATED.value,
    403: ErrorCode.FORBIDDEN.value,
    404: ErrorCode.NOT_FOUND.value,
    405: "METHOD_NOT_ALLOWED",
    409: ErrorCode.CONFLICT.value,
    413: ErrorCode.PAYLOAD_TOO_LARGE.value,
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: ErrorCode.BAD_USER_INPUT.value,
    429: ErrorCode.RATE_LIMITED.value,
    503: ErrorCode.SERVICE_UNAVAILABLE.value,
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    report_error("rest", code)
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def app_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    headers = None
    retry = exc.details.get("retryAfter")
    if retry is not None:
        headers = {"Retry-After": str(retry)}
    if exc.code is ErrorCode.UNAUTHENTICATED:
        # RFC 9110: a 401 names the scheme the client should use.
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="alawael"'}
    details: dict[str, Any] = dict(exc.details)
    if exc.field:
        details["field"] = exc.field
        # Field errors from services look like the REST shim's pydantic ones: one list to read.
        details.setdefault("fields", [{"field": exc.field, "message": exc.message}])
    return error_response(exc.http_status, exc.code.value, exc.message, details or None, headers)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, code, str(exc.detail), headers=headers)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    rid = _request_id(request)
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return error_response(
            503,
            ErrorCode.SERVICE_UNAVAILABLE.value,
            "The database is unavailable; try again shortly.",
        )
    log.error("unexpected error in REST handler", exc_info=exc, extra={"request_id": rid})
    message = "Unexpected error." if isinstance(exc, PyMongoError | Exception) else str(exc)
    return error_response(500, ErrorCode.INTERNAL_SERVER_ERROR.value, message, {"requestId": rid})


EXCEPTION_HANDLERS: dict[Any, Any] = {
    AppError: app_error_handler,
    HTTPException: http_error_handler,
    Exception: unexpected_error_handler,
}
