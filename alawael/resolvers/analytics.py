"""Analytics resolvers: GraphQL arguments in, service calls, summaries out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from strawberry.types import Info

from alawael.services import analytics
from alawael.services.analytics import Granularity


async def sales_summary(
    info: Info, start: datetime, end: datetime, granularity: Granularity
) -> dict[str, Any]:
    ctx = info.context
    return await analytics.sales_summary_for(ctx.resources, ctx.user, start, end, granularity)


async def api_usage(info: Info, start: datetime, end: datetime) -> dict[str, Any]:
    return await analytics.api_usage(info.context.resources, info.context.user, start, end)
