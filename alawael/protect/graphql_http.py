"""GraphQL over HTTP behaviour of the view (mixed into `ERPGraphQL`).

- Media type: `application/graphql-response+json` when the client's Accept lists it, else
  `application/json` (legacy clients, and no Accept at all).
- Status: with graphql-response+json, a request error (the document could not be parsed,
  failed validation, was too complex, or is not allowed: no `data` entry) is 400; a result
  with `data` is 200 even with field errors. With application/json it is always 200
  (what older clients expect). Rate-limit refusals are 429 either way.
- GET runs queries only: a mutation via GET is 405 with `Allow: POST`.
- Persisted queries and the safelist (`alawael.protect.persisted`) resolve the document
  first. (The auth budget of login/register/refreshToken is not charged here: the services
  charge it per call, so every door and every document shape pays; alawael.auth.throttle.)
- Batching (a JSON array of operations) is on, up to GRAPHQL_MAX_BATCH operations; each
  operation is checked (limits, cost, persisted queries) on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from alawael.protect.operations import resolve_document
from alawael.shared.errors import AppError

if TYPE_CHECKING:
    from alawael.config import Settings
    from alawael.context import Context

GRAPHQL_RESPONSE = "application/graphql-response+json"


class GraphQLSubResponse(Response):
    """The view's sub-response, remembering which media type the client accepts."""

    graphql_response: bool = False


def accepts_graphql_response(accept: str) -> bool:
    return GRAPHQL_RESPONSE in accept


def check_request_data(data: GraphQLRequestData) -> None:
    """The GraphQL-over-HTTP request parameters' types; a wrong one is the client's 400."""
    if not isinstance(data.query, str | None):
        raise HTTPException(400, "The GraphQL operation's `query` must be a string or null.")
    if not isinstance(data.operation_name, str | None):
        raise HTTPException(400, "`operationName` must be a string or null.")
    if not isinstance(data.variables, dict | None):
        raise HTTPException(400, "The GraphQL operation's `variables` must be an object or null.")
    if not isinstance(data.extensions, dict | None):
        raise HTTPException(400, "The GraphQL operation's `extensions` must be an object or null.")


def _request_error(error: AppError) -> ExecutionResult:
    return ExecutionResult(
        data=None, errors=[GraphQLError(error.message, extensions=error.extensions)]
    )


class GraphQLHTTPProtocol:
    """Mixin for `strawberry.asgi.GraphQL` subclasses; see the module docstring."""

    settings: Settings

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A GET carrying only a persisted-query hash is an operation, not a browser visit.
        if request.query_params.get("extensions") is not None:
            return False
        return super().should_render_graphql_ide(request)  # type: ignore[misc,no-any-return]

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub = GraphQLSubResponse()
        sub.status_code = None  # type: ignore[assignment]
        del sub.headers["content-length"]
        sub.graphql_response = accepts_graphql_response(request.headers.get("accept", ""))
        return sub

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Strawberry checks the types of `query`, `variables` and `extensions` of a single
        operation only: an `operationName` of `{}` or a batch item that is not an object
        reached the executor and answered 500. Every operation is checked here (400)."""
        try:
            parsed = await super().parse_http_body(request)  # type: ignore[misc]
        except AttributeError as exc:  # a batch item without `.get`: not a JSON object
            raise HTTPException(400, "Each operation in a batch must be a JSON object.") from exc
        for item in parsed if isinstance(parsed, list) else [parsed]:
            check_request_data(item)
        return parsed  # type: ignore[no-any-return]

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            # The same admission as every WebSocket operation (alawael.protect.operations).
            request_data.query = await resolve_document(
                context.resources, request_data.query, request_data.extensions
            )
        except AppError as exc:
            return _request_error(exc)
        try:
            return await super().execute_single(  # type: ignore[misc,no-any-return]
                request=request,
                request_adapter=request_adapter,
                sub_response=sub_response,
                context=context,
                root_value=root_value,
                request_data=request_data,
            )
        except HTTPException as exc:
            if request_adapter.method == "GET" and isinstance(
                exc.__cause__, InvalidOperationTypeError
            ):
                raise HTTPException(405, "Mutations must be sent with POST.") from exc
            raise

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)  # type: ignore[misc]
        # A request error (nothing executed) has no `data` entry (GraphQL over HTTP).
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            response.pop("data", None)
        return response  # type: ignore[no-any-return]

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response: Response = super().create_response(response_data, sub_response)  # type: ignore[misc]
        if getattr(sub_response, "graphql_response", False):
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
            request_error = isinstance(response_data, dict) and "data" not in response_data
            if not sub_response.status_code and request_error:
                response.status_code = 400
        return response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # type: ignore[misc]
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))  # type: ignore[attr-defined]
        except HTTPException as exc:
            response = self._http_error(exc, scope)
        await response(scope, receive, send)

    def _http_error(self, exc: HTTPException, scope: Scope) -> Response:
        """Strawberry's plain-text HTTP errors, as GraphQL-shaped JSON with proper headers."""
        accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
        media = (
            f"{GRAPHQL_RESPONSE}; charset=utf-8"
            if accepts_graphql_response(accept)
            else "application/json"
        )
        headers = {"Allow": "POST"} if exc.status_code == 405 else {}
        if exc.status_code == 405 and "GraphQL only supports" in (exc.reason or ""):
            headers = {"Allow": "GET, POST"}
        # Every error carries a code a client can branch on; these are request-level ones
        # (Apollo's names: BAD_REQUEST for a malformed request, METHOD_NOT_ALLOWED).
        code = {405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "BAD_REQUEST")
        return JSONResponse(
            {"errors": [{"message": exc.reason or "Bad request.", "extensions": {"code": code}}]},
            status_code=exc.status_code,
            headers=headers,
            media_type=media,
        )
