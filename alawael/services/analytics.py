"""Sales and API-usage analytics, computed by MongoDB aggregation pipelines.

Each report is one `aggregate` with a `$facet` per section, so the database scans the
date range once and ships back only the small summary; no order document crosses the wire.
Everything is in UTC; weeks start on Monday (ISO 8601).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from alawael.auth.permissions import Actor, Permission, require
from alawael.infra.db import Document
from alawael.infra.resources import Resources
from alawael.shared.errors import BadUserInput

MAX_RANGE = timedelta(days=731)  # two years, leap day included
TOP_PRODUCTS = 10
CANCELLED = "CANCELLED"


class Granularity(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


def _utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the API's only time zone)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def validate_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start, end = _utc(start), _utc(end)
    if start >= end:
        raise BadUserInput("`from` must be before `to`.", field="from")
    if end - start > MAX_RANGE:
        raise BadUserInput("The range may span at most two years.", field="to")
    return start, end


def period_start(moment: datetime, granularity: Granularity) -> datetime:
    """The start of the period holding `moment`: the same truncation as `$dateTrunc`."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return day


def next_period(moment: datetime, granularity: Granularity) -> datetime:
    if granularity is Granularity.DAY:
        return moment + timedelta(days=1)
    if granularity is Granularity.WEEK:
        return moment + timedelta(days=7)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month)


def periods(start: datetime, end: datetime, granularity: Granularity) -> list[datetime]:
    """Every period that overlaps [start, end): the x axis, including empty periods."""
    out: list[datetime] = []
    current = period_start(start, granularity)
    while current < end:
        out.append(current)
        current = next_period(current, granularity)
    return out


def _not_cancelled(then: Any, otherwise: Any) -> dict[str, Any]:
    return {"$cond": [{"$ne": ["$status", CANCELLED]}, then, otherwise]}


def sales_pipeline(start: datetime, end: datetime, granularity: Granularity) -> list[Document]:
    trunc: dict[str, Any] = {
        "date": "$createdAt",
        "unit": granularity.value.lower(),
        "timezone": "UTC",
    }
    if granularity is Granularity.WEEK:
        trunc["startOfWeek"] = "monday"  # $dateTrunc's default is Sunday
    revenue_only = [{"$match": {"status": {"$ne": CANCELLED}}}]
    return [
        {"$match": {"createdAt": {"$gte": start, "$lt": end}}},
        {
            "$facet": {
                "totals": [
                    *revenue_only,
                    {"$group": {"_id": None, "revenue": {"$sum": "$totalCents"}, "n": {"$sum": 1}}},
                ],
                "byStatus": [{"$group": {"_id": "$status", "count": {"$sum": 1}}}],
                "topProducts": [
                    *revenue_only,
                    {"$unwind": "$items"},
                    {
                        "$group": {
                            "_id": "$items.productId",
                            # The newest snapshot of the product's sku and name (MongoDB >= 5.2;
                            # no sort of the whole range needed, unlike `$last`).
                            "latest": {
                                "$top": {
                                    "sortBy": {"createdAt": -1},
                                    "output": {"sku": "$items.sku", "name": "$items.name"},
                                }
                            },
                            "quantity": {"$sum": "$items.quantity"},
                            "revenue": {"$sum": "$items.lineTotalCents"},
                        }
                    },
                    {"$sort": {"revenue": -1, "quantity": -1, "_id": 1}},
                    {"$limit": TOP_PRODUCTS},
                ],
                "series": [
                    *revenue_only,
                    {
                        "$group": {
                            "_id": {"$dateTrunc": trunc},
                            "revenue": {"$sum": "$totalCents"},
                            "n": {"$sum": 1},
                        }
                    },
                ],
            }
        },
    ]


def _average(total: int, count: int) -> int:
    """Integer cents, rounded half up (no float ever touches money)."""
    return (2 * total + count) // (2 * count) if count else 0


async def _compute_sales(
    res: Resources, start: datetime, end: datetime, granularity: Granularity
) -> Document:
    cursor = await res.db.orders.aggregate(sales_pipeline(start, end, granularity))
    facets: Document = (await cursor.to_list(1))[0]
    totals = facets["totals"][0] if facets["totals"] else {"revenue": 0, "n": 0}
    # Keys compared as UTC instants: the driver may hand back a different tzinfo object.
    by_period = {_utc(row["_id"]): row for row in facets["series"]}
    series = [
        {
            "periodStart": moment,
            "revenueCents": int(by_period.get(moment, {}).get("revenue", 0)),
            "orderCount": int(by_period.get(moment, {}).get("n", 0)),
        }
        for moment in periods(start, end, granularity)
    ]
    return {
        "granularity": granularity.value,
        "revenueCents": int(totals["revenue"]),
        "orderCount": int(totals["n"]),
        "averageOrderValueCents": _average(int(totals["revenue"]), int(totals["n"])),
        "ordersByStatus": sorted(
            ({"status": row["_id"], "count": int(row["count"])} for row in facets["byStatus"]),
            key=lambda row: str(row["status"]),
        ),
        "topProducts": [
            {
                "productId": row["_id"],
                "sku": row["latest"].get("sku") or "",
                "name": row["latest"].get("name") or "",
                "quantity": int(row["quantity"]),
                "revenueCents": int(row["revenue"]),
            }
            for row in facets["topProducts"]
        ],
        "series": series,
    }


DEFAULT_SUMMARY_RANGE = timedelta(days=30)


def summary_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """Fill in a missing range: the 30 days up to now. "Now" is taken up to the next whole
    minute, so repeated default calls share one cache entry instead of each caching a new
    microsecond-stamped key for an hour."""
    if end is None:
        now = datetime.now(UTC)
        end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return (start or end - DEFAULT_SUMMARY_RANGE), end


async def sales_summary_for(
    res: Resources,
    actor: Actor | None,
    start: datetime,
    end: datetime,
    granularity: Granularity,
) -> Document:
    """`sales_summary` for a caller (analytics:read), as the doors ask for it."""
    require(actor, Permission.VIEW_ANALYTICS)
    return await sales_summary(res, start, end, granularity)


async def sales_summary(
    res: Resources, start: datetime, end: datetime, granularity: Granularity
) -> Document:
    """Revenue, counts, top products and a zero-filled time series for [start, end).
    Cancelled orders count only in `ordersByStatus`. Unchecked, for the system's own
    callers (the daily job; the salesTicker feed, which checks its subscriber): a door asking
    for a caller uses `sales_summary_for`."""
    start, end = validate_range(start, end)
    summary: Document = await res.cache.get_or_compute(
        "analytics:sales",
        [start.isoformat(), end.isoformat(), granularity.value],
        # Not caller-dependent (one permission sees it all); order writes bump "orders".
        scopes=["analytics", "orders"],
        ttl=res.settings.analytics_cache_ttl_seconds,
        compute=lambda: _compute_sales(res, start, end, granularity),
    )
    # The exact bounds asked for (the cache's BSON keeps only milliseconds).
    return {**summary, "from": start, "to": end}


def _usage_group(key: Any) -> Document:
    return {
        "$group": {
            "_id": key,
            "calls": {"$sum": 1},
            "errors": {"$sum": {"$cond": [{"$gte": ["$status", 400]}, 1, 0]}},
            "avg": {"$avg": "$durationMs"},
            # Nearest-rank percentile (the value at rank ceil(0.95 n)); MongoDB >= 7.0.
            "p95": {"$percentile": {"input": "$durationMs", "p": [0.95], "method": "approximate"}},
        }
    }


def usage_pipeline(start: datetime, end: datetime) -> list[Document]:
    return [
        {"$match": {"timestamp": {"$gte": start, "$lt": end}}},
        {
            "$facet": {
                "endpoints": [
                    _usage_group("$apiEndpoint"),
                    {"$sort": {"calls": -1, "_id": 1}},
                ],
                "totals": [_usage_group(None)],
            }
        },
    ]


def _usage_row(row: Document, endpoint: str | None = None) -> Document:
    calls = int(row["calls"])
    errors = int(row["errors"])
    p95 = row.get("p95")
    return {
        "endpoint": endpoint if endpoint is not None else str(row["_id"]),
        "calls": calls,
        "errors": errors,
        "errorRate": errors / calls if calls else 0.0,
        "avgDurationMs": float(row["avg"] or 0.0),
        "p95DurationMs": float(p95[0]) if p95 and p95[0] is not None else 0.0,
    }


async def _compute_usage(res: Resources, start: datetime, end: datetime) -> Document:
    cursor = await res.db.analytics.aggregate(usage_pipeline(start, end))
    facets: Document = (await cursor.to_list(1))[0]
    empty = {"calls": 0, "errors": 0, "avg": 0.0, "p95": None}
    totals = facets["totals"][0] if facets["totals"] else empty
    return {
        "totals": _usage_row(totals, endpoint="*"),
        "endpoints": [_usage_row(row) for row in facets["endpoints"]],
    }


async def api_usage(
    res: Resources, actor: Actor | None, start: datetime, end: datetime
) -> Document:
    """Calls, errors (status >= 400), average and p95 duration per endpoint, plus totals.
    Request records arrive continuously without bumping a scope, so this uses the short
    general TTL rather than the hour-long analytics one. analytics:read."""
    require(actor, Permission.VIEW_ANALYTICS)
    start, end = validate_range(start, end)
    usage: Document = await res.cache.get_or_compute(
        "analytics:usage",
        [start.isoformat(), end.isoformat()],
        scopes=["analytics"],
        ttl=res.settings.cache_ttl_seconds,
        compute=lambda: _compute_usage(res, start, end),
    )
    return {**usage, "from": start, "to": end}
