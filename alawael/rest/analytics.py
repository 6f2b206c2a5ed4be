"""Endpoint 20: the sales summary (alawael.services.analytics), for managers."""

from __future__ import annotations

from alawael.auth.permissions import Permission
from alawael.rest.models import SalesSummaryOut, SummaryQuery
from alawael.rest.routing import Call, endpoint
from alawael.services import analytics


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
    start, end = analytics.summary_range(q.from_, q.to)
    doc = await analytics.sales_summary_for(call.res, call.actor, start, end, q.granularity)
    return SalesSummaryOut.from_doc(doc)
