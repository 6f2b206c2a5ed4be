"""Operation-cache hits answered in front of the GraphQL view, as stored bytes.

The whole-result cache (alawael.schema.operation_cache) made a hit cheap in MongoDB terms,
but a hit still paid ~1.2 ms of CPU: Strawberry's request handling and context, BSON-decoding
the ~40 KB result and JSON-encoding it again, gzip per request, and three Redis round trips
(rate-limit hit, rate-limit window, cache read). This pure-ASGI middleware, between CORS and
the rate limiter, answers a hit with:

- the request body read once and checked (a single POSTed JSON operation, no persisted-query
  extension, no safelist mode) and the document's cacheability (memoised per text);
- the caller authenticated as the view does (`authenticate_request`: signature, then the
  worker's short-lived session check, so revocation holds exactly as on the normal path);
  a bad token is never answered here;
- ONE Redis round trip: the rate-limit charge (the `limits` library's own scripts and keys)
  and the cache lookup pipelined (alawael.protect.ratelimit_pipeline);
- the stored body, or its stored gzip when the client accepts it, sent as they are with the
  headers the view and the GZip middleware would have set.

Anything else (a miss, another shape of request, no Redis, Redis trouble) goes on to the
rate limiter and the view with the body replayed; if the charge was already made, the rate
limiter uses that decision instead of charging again (`ratelimit.CHARGED`). Outer middleware
(request id, access log, security headers, CORS) sees a hit like any other response.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alawael.auth.current import authenticate_request
from alawael.config import Settings
from alawael.infra.cache_copies import LocalCopies
from alawael.infra.cache_redis import REDIS_ERRORS, RedisCache
from alawael.infra.http import GRAPHQL_PATHS, client_ip
from alawael.infra.metrics import RATE_LIMITED
from alawael.protect.ratelimit import CHARGED, send_refusal
from alawael.protect.ratelimit_pipeline import charge_args, combinable, decide
from alawael.schema.cached_answer_script import AnswerScript
from alawael.schema.operation_cache import CACHE_NAME, SCOPES, cacheable, key_parts, visibility

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from alawael.infra.resources import Resources
    from alawael.protect.ratelimit import RateLimiter

log = logging.getLogger(__name__)

_GRAPHQL_RESPONSE = b"application/graphql-response+json"
_MEDIA_GRAPHQL = b"application/graphql-response+json; charset=utf-8"
_MEDIA_JSON = b"application/json"
_FIELDS = frozenset({"query", "operationName", "variables", "extensions"})
_TOOLS = "cached_answer_tools"


class Tools:
    """Per worker: the local copies of stored answers and the registered script."""

    def __init__(self, redis: Redis) -> None:
        self.copies = LocalCopies()
        self.script = AnswerScript(redis)


def answer_tools(resources: Resources) -> Tools:
    tools = resources.extras.get(_TOOLS)
    if tools is None:
        assert resources.redis is not None
        tools = resources.extras[_TOOLS] = Tools(resources.redis)
    assert isinstance(tools, Tools)
    return tools


class Operation:
    """A single POSTed operation that may be answered from the cache."""

    __slots__ = ("name", "query", "variables")

    def __init__(self, query: str, name: str | None, variables: dict[str, Any] | None) -> None:
        self.query = query
        self.name = name
        self.variables = variables


def cacheable_operation(body: bytes, settings: Settings) -> Operation | None:
    """The operation in this body if the fast path may serve it, else None (the view decides,
    and reports any error in it)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not data.keys() <= _FIELDS:
        return None
    query, name = data.get("query"), data.get("operationName")
    variables, extensions = data.get("variables"), data.get("extensions")
    if (
        not isinstance(query, str)
        or not isinstance(name, str | None)
        or not isinstance(variables, dict | None)
        # Persisted queries and the safelist decide which document runs: the view's job.
        or extensions
        or settings.graphql_safelist_only
        or not cacheable(query, name)
    ):
        return None
    return Operation(query, name, variables)


def _headers(scope: Scope) -> tuple[str | None, bytes, bytes, bytes]:
    """(bearer token, accept, accept-encoding, content-type) in one pass over the headers."""
    token: str | None = None
    seen_authorization = False
    accept = encoding = ctype = b""
    for name, value in scope["headers"]:
        if name == b"authorization" and not seen_authorization:
            # The first one, as the view and the rate limiter read it.
            seen_authorization = True
            scheme, _, rest = value.decode("latin-1").partition(" ")
            token = rest.strip() if scheme.lower() == "bearer" and rest.strip() else None
        elif name == b"accept":
            accept = value
        elif name == b"accept-encoding":
            encoding = value
        elif name == b"content-type":
            ctype = value
    return token, accept, encoding, ctype


class CachedAnswerMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] not in GRAPHQL_PATHS
            or scope["method"] != "POST"
            or not self.settings.operation_cache
        ):
            await self.app(scope, receive, send)
            return
        resources: Resources | None = getattr(scope["app"].state, "resources", None)
        cache = resources.cache if resources is not None else None
        if resources is None or resources.redis is None or not isinstance(cache, RedisCache):
            await self.app(scope, receive, send)
            return
        # The body, read once; replayed to the view if it does not end here.
        messages: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        if not await self._answer(scope, b"".join(chunks), resources, cache, send):
            await self.app(scope, replay, send)

    async def _answer(
        self, scope: Scope, body: bytes, resources: Resources, cache: RedisCache, send: Send
    ) -> bool:
        """Answer from the cache (or refuse: rate limit) and return True, else False."""
        token, accept, encoding, ctype = _headers(scope)
        if not ctype.startswith(b"application/json") or not cache.readable:
            return False
        operation = cacheable_operation(body, self.settings)
        if operation is None:
            return False
        limiter: RateLimiter | None = None
        if self.settings.rate_limit_enabled:
            limiter = getattr(scope["app"].state, "rate_limiter", None)
            if limiter is not None and not combinable(limiter):
                return False
        user, auth_error = await authenticate_request(resources, token)
        if auth_error is not None:
            return False  # the view reports it (UNAUTHENTICATED); never a cached answer
        if user is not None:
            scope.setdefault("state", {})["user_id"] = user.user_id  # the access log
        visible_to = visibility(user.user_id, user.role.value) if user else visibility(None, None)
        parts = key_parts(visible_to, operation.name, operation.query, operation.variables)
        tools = answer_tools(resources)
        charge = None
        bucket = ""
        if limiter is not None:
            # As RateLimitMiddleware: a validly signed token spends its user's budget.
            bucket, key = (
                ("user", user.user_id) if user else ("ip", client_ip(scope, self.settings))
            )
            charge = charge_args(limiter, bucket, key)
        lookup_keys, lookup_args, lookup = tools.copies.prepare(CACHE_NAME, parts, SCOPES)
        try:
            acquired, window, found = await tools.script.run(charge, (lookup_keys, lookup_args))
        except REDIS_ERRORS as exc:
            cache.record_failure(CACHE_NAME, exc)
            return False  # the rate limiter and the view each go their own way
        decision = None
        if limiter is not None:
            decision = decide(limiter, bucket, acquired, window)
            scope[CHARGED] = decision  # charged: the rate limiter must not charge again
            if not decision.allowed:
                RATE_LIMITED.labels(bucket=decision.bucket).inc()  # as RateLimiter.check
                await send_refusal(send, decision, graphql=True, scope=scope)
                return True
        stored = lookup.result(found)
        if stored is None:
            return False  # a miss: the view computes and stores it
        cache.hit(CACHE_NAME)
        answer: bytes = stored["body"]
        headers = [
            (b"content-type", _MEDIA_GRAPHQL if _GRAPHQL_RESPONSE in accept else _MEDIA_JSON)
        ]
        if len(answer) >= self.settings.gzip_min_bytes:
            # What the GZip middleware adds to a body this size, compressed or not.
            headers.append((b"vary", b"Accept-Encoding"))
            if b"gzip" in encoding:
                answer = stored["gzip"]
                headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(answer)).encode()))
        if decision is not None:
            headers.extend(decision.headers())
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})
        return True
