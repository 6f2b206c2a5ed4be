"""The admission policy of one GraphQL operation, whichever door it came through.

HTTP and WebSocket both call these, so a rule added here holds on both:
- `resolve_document`: persisted queries (APQ) and the safelist (GRAPHQL_SAFELIST_ONLY) decide
  which document runs;
- `rate_buckets` / `charge`: the per-user (validly authenticated) or per-IP budget. On HTTP
  the RateLimitMiddleware charges it once per request (REST included); on a WebSocket every
  operation (`subscribe`/`start` message) is charged, since one socket carries many.

Depth, alias, token and cost limits are schema extensions (alawael.protect.graphql_limits):
they run inside `schema.execute`/`schema.stream`, so every door gets them without a call here.
The login/register/refreshToken budget is charged by the auth services themselves.
"""

from __future__ import annotations

from typing import Any

from alawael.infra.resources import Resources
from alawael.protect.persisted import PersistedQueries
from alawael.protect.ratelimit import Decision, RateLimiter
from alawael.shared.errors import AppError, RateLimited, ServiceUnavailable

_PERSISTED_KEY = "persisted_queries"


def persisted_queries(resources: Resources) -> PersistedQueries:
    """The worker's persisted-query store (one per worker: it caches documents)."""
    store = resources.extras.get(_PERSISTED_KEY)
    if store is None:
        store = resources.extras[_PERSISTED_KEY] = PersistedQueries(
            resources.settings, resources.redis
        )
    assert isinstance(store, PersistedQueries)
    return store


async def resolve_document(
    resources: Resources, query: str | None, extensions: dict[str, Any] | None
) -> str | None:
    """The document allowed to run, or an AppError (PERSISTED_QUERY_NOT_ALLOWED/NOT_FOUND,
    BAD_USER_INPUT) saying why none may."""
    return await persisted_queries(resources).resolve(query, extensions)


def rate_buckets(ip: str, user_id: str | None) -> list[tuple[str, str]]:
    """A caller with a valid identity spends the user budget; anyone else their IP's."""
    return [("user", user_id)] if user_id else [("ip", ip)]


def refusal(decision: Decision) -> AppError:
    if decision.unavailable:
        return ServiceUnavailable("Rate limiting is unavailable; try again shortly.")
    retry = max(decision.reset_after, 1)
    return RateLimited(f"Too many requests; retry in {retry} seconds.", retry_after=retry)


async def charge(limiter: RateLimiter | None, *, ip: str, user_id: str | None) -> None:
    """Charge one operation; raises RATE_LIMITED (or SERVICE_UNAVAILABLE when the limiter's
    storage is down and RATE_LIMIT_FAIL_OPEN is false)."""
    if limiter is None or not limiter.settings.rate_limit_enabled:
        return
    decision = await limiter.check(rate_buckets(ip, user_id))
    if decision is not None and not decision.allowed:
        raise refusal(decision)
