"""The Strawberry ASGI app: builds the per-request Context and serves HTTP + WebSocket."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType

from alawael.auth.current import authenticate_request, bearer_token, token_from_connection_params
from alawael.auth.socket_identity import SocketIdentity
from alawael.config import Settings
from alawael.context import Context
from alawael.infra.resources import Resources
from alawael.protect.graphql_http import GraphQLHTTPProtocol
from alawael.realtime.websocket import LegacyWSHandler, TextWebSocketAdapter, TransportWSHandler
from alawael.schema.build import ErrorSchema
from alawael.schema.operation_cache import OperationCacheMixin
from alawael.shared.errors import AppError


# GraphQLHTTPProtocol: media types and status codes, GET/405, persisted queries and the
# safelist, the auth rate-limit budget (alawael.protect.graphql_http).
# OperationCacheMixin: whole-result cache of read-only order/catalogue queries, when
# OPERATION_CACHE=true (alawael.schema.operation_cache); it sits after persisted-query resolution.
class ERPGraphQL(GraphQLHTTPProtocol, OperationCacheMixin, GraphQL[Context, None]):
    # Text frames, fresh loaders per WebSocket operation, server pings (alawael.realtime).
    websocket_adapter_class = TextWebSocketAdapter
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, schema: ErrorSchema, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.ide_enabled else None,
            allow_queries_via_get=True,
            keep_alive=True,
            keep_alive_interval=settings.ws_keepalive_seconds,
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=settings.subscriptions_per_connection,
            # Cross-origin browser handshakes need their origin listed (or "*"); requests
            # without an Origin header (non-browser clients) and same-origin ones pass.
            allowed_origins=settings.ws_allowed_origins,
        )
        self.settings = settings

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        resources: Resources = request.app.state.resources
        user, auth_error = None, None
        if isinstance(request, Request):
            # HTTP: the bearer header decides. A bad token is not anonymity: its error is
            # kept on the Context and reported (UNAUTHENTICATED) by permission checks and `me`.
            user, auth_error = await authenticate_request(resources, bearer_token(request.headers))
            if user is not None:
                request.state.user_id = user.user_id  # for the access log and analytics
        # WebSocket: the token arrives later, in connection_init (see on_ws_connect).
        return Context(
            resources=resources,
            user=user,
            request=request,
            response=response,
            request_id=getattr(request.state, "request_id", None),
            auth_error=auth_error,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a WebSocket from its connection_init payload (`{"authorization":
        "Bearer ..."}` or `{"token": ...}`), else from the handshake's Authorization header.
        No token: an anonymous connection. A bad token: closed with 4403 "Forbidden"."""
        token = token_from_connection_params(context.connection_params)
        if token is None and context.request is not None:
            token = bearer_token(context.request.headers)
        # The connection keeps its token: every later operation re-checks it (and closes
        # the socket with 4403 once it no longer holds; alawael.realtime.socket_guard).
        identity = SocketIdentity(context.resources)
        try:
            context.user = await identity.sign_in(token)
        except AppError as error:
            raise ConnectionRejectionError(
                {"message": error.message, "code": error.code.value}
            ) from error
        context.identity = identity
        if context.user is not None and isinstance(context.request, WebSocket):
            context.request.state.user_id = context.user.user_id  # the access log
        return await super().on_ws_connect(context)

    def encode_json(self, data: Any) -> bytes:
        import orjson

        return orjson.dumps(data)
