"""Endpoint 20: the sales summary (alawael.services.analytics), for managers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alawael.auth.permissions import Permission
from alawael.rest.models import SalesSummaryOut, SummaryQuery
from alawael.rest.routing import Call, endpoint
from alawael.services import analytics

DEFAULT_RANGE = timedelta(days=30)


@endpoint(
    "GET",
    "/api/analytics/summary",
    summary="Sales summary for a date range (managers)",
    tag="Analytics",
    access=Permission.VIEW_ANALYTICS,
    query=SummaryQuery,
    response=SalesSummaryOut,
)
async def sales_summary(call: Call) -> SalesSummaryOut:
    """Revenue, order counts, top products and a zero-filled series over [from, to), in
    UTC (weeks start on Monday). Defaults: the 30 days up to now. At most two years."""
    q = call.query_as(SummaryQuery)
    end = q.to or datetime.now(UTC)
    start = q.from_ or end - DEFAULT_RANGE
    doc = await analytics.sales_summary(call.res, start, end, q.granularity)
    return SalesSummaryOut.from_doc(doc)
