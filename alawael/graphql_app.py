"""The Strawberry ASGI app: builds the per-request Context and serves HTTP + WebSocket."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from alawael.auth.current import actor_from_token, bearer_token
from alawael.config import Settings
from alawael.context import Context, Resources
from alawael.schema import ErrorSchema


class ERPGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: ErrorSchema, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.ide_enabled else None,
            allow_queries_via_get=True,
            keep_alive=True,
            keep_alive_interval=15,
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=settings.subscriptions_per_connection,
            allowed_origins=settings.ws_allowed_origins,
        )
        self.settings = settings

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        resources: Resources = request.app.state.resources
        user = None
        if isinstance(request, Request):
            # HTTP: the bearer header decides; a bad token is an error, not anonymity.
            user = await actor_from_token(resources, bearer_token(request.headers))
        return Context(
            resources=resources,
            user=user,
            request=request,
            response=response,
            request_id=getattr(request.state, "request_id", None),
        )

    def encode_json(self, data: Any) -> bytes:
        import orjson

        return orjson.dumps(data)
