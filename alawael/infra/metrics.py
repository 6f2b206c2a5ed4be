"""Prometheus metrics: the definitions, the pymongo command listener and `/metrics`.

Importing this module only defines metrics (no I/O, no threads). With several workers,
`alawael serve` points PROMETHEUS_MULTIPROC_DIR at a fresh directory *before* the workers
import prometheus-client, so every value lives in a per-process mmap file and `/metrics`
sums them (the client library picks its value class from that variable at import time).

Other modules increment what they own: the cache (`CACHE_REQUESTS`), rate limiting
(`RATE_LIMITED`), subscriptions (`SUBSCRIPTIONS_ACTIVE`); the access middleware keeps
`WEBSOCKETS_OPEN` and the latency histograms.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# --- HTTP / GraphQL -------------------------------------------------------------------
REST_LATENCY = Histogram(
    "alawael_http_request_duration_seconds",
    "REST and other HTTP route latency, by route template (never the raw path).",
    ["route", "method", "status"],
    buckets=_LATENCY_BUCKETS,
)
GRAPHQL_LATENCY = Histogram(
    "alawael_graphql_request_duration_seconds",
    "GraphQL HTTP request latency by operation name ('anonymous' when unnamed).",
    ["operation"],
    buckets=_LATENCY_BUCKETS,
)
ERRORS = Counter(
    "alawael_errors_total",
    "Errors returned to clients, by front door (graphql/rest) and stable error code.",
    ["source", "code"],
)

# --- Cache and protection (incremented by their owners) --------------------------------
CACHE_REQUESTS = Counter(
    "alawael_cache_requests_total",
    "Resolver-cache lookups by cache name and result (hit/miss).",
    ["cache", "result"],
)
CLIENT_DISCONNECTS = Counter(
    "alawael_client_disconnects_total",
    "Requests whose client went away before the request was read (logged as 499), and "
    "WebSocket operations whose client left before the result was sent.",
)
RATE_LIMITED = Counter(
    "alawael_rate_limited_total",
    "Requests refused by the rate limiter, by bucket.",
    ["bucket"],
)

# --- Realtime ----------------------------------------------------------------------------
WEBSOCKETS_OPEN = Gauge(
    "alawael_websockets_open",
    "Accepted WebSocket connections currently open.",
    multiprocess_mode="livesum",
)
SUBSCRIPTIONS_ACTIVE = Gauge(
    "alawael_subscriptions_active",
    "GraphQL subscriptions currently running.",
    multiprocess_mode="livesum",
)

# --- MongoDB and loaders ---------------------------------------------------------------
MONGO_COMMANDS = Counter(
    "alawael_mongo_commands_total",
    "MongoDB commands sent, by collection and command name.",
    ["collection", "command"],
)
MONGO_FAILURES = Counter(
    "alawael_mongo_command_failures_total",
    "MongoDB commands that failed, by command name.",
    ["command"],
)
MONGO_DURATION = Histogram(
    "alawael_mongo_command_duration_seconds",
    "MongoDB command round-trip time, by command name.",
    ["command"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
LOADER_BATCH_SIZE = Histogram(
    "alawael_dataloader_batch_size",
    "Keys per DataLoader batch (one $in query each), by collection.",
    ["collection"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)

# --- Background work -------------------------------------------------------------------
JOB_RUNS = Counter(
    "alawael_job_runs_total", "Scheduled job runs by job and result.", ["job", "result"]
)
JOB_DURATION = Histogram(
    "alawael_job_duration_seconds",
    "Scheduled job run time.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0),
)
ANALYTICS_WRITTEN = Counter(
    "alawael_analytics_records_written_total", "API analytics records inserted into MongoDB."
)
ANALYTICS_DROPPED = Counter(
    "alawael_analytics_records_dropped_total",
    "API analytics records dropped because the buffer was full (MongoDB slow or down).",
)
ANALYTICS_BATCHES = Counter(
    "alawael_analytics_batches_total",
    "insert_many batches of API analytics records, by result.",
    ["result"],
)
MAIL_MESSAGES = Counter(
    "alawael_mail_messages_total",
    "Outgoing mails by template and outcome: sent, logged (no SMTP_HOST), failed (gave up "
    "after MAIL_MAX_ATTEMPTS), dropped (queue full or no sender).",
    ["template", "result"],
)
MAIL_SEND_FAILURES = Counter(
    "alawael_mail_send_failures_total",
    "SMTP delivery attempts that failed (every attempt counts; a retry may still succeed).",
)
ANALYTICS_BUFFERED = Gauge(
    "alawael_analytics_buffered_records",
    "API analytics records waiting in memory to be written.",
    multiprocess_mode="livesum",
)


# --- Process and dependencies (sampled by alawael.infra.process_metrics in every worker) ------
PROCESS_MEMORY = Gauge(
    "alawael_process_resident_memory_bytes",
    "Resident memory of each worker process (one series per pid with several workers).",
    multiprocess_mode="liveall",
)
PROCESS_MEMORY_LIMIT = Gauge(
    "alawael_process_memory_limit_bytes",
    "Memory the workers may use together: the cgroup limit, else the machine's RAM.",
    multiprocess_mode="livemax",
)
REDIS_UP = Gauge(
    "alawael_redis_up",
    "1 when Redis answers a PING (or none is configured: in-process mode), else 0.",
    multiprocess_mode="livemin",
)


# --- Hooks -------------------------------------------------------------------------------
def count_error(source: str, code: str) -> None:
    ERRORS.labels(source, code).inc()


def observe_batch(collection: str, size: int) -> None:
    LOADER_BATCH_SIZE.labels(collection or "unknown").observe(size)


_installed = False


def install_hooks() -> None:
    """Attach the loader and error hooks (once per process: they are process-global)."""
    global _installed
    if _installed:
        return
    _installed = True
    from alawael.infra.observers import observe_batches, observe_errors

    observe_batches(observe_batch)
    observe_errors(count_error)


class MongoCommandMetrics(CommandListener):
    """Counts commands at start (the collection is only in the command document) and
    times them when they finish (the finished events carry the duration)."""

    def started(self, event: CommandStartedEvent) -> None:
        name = event.command_name
        target = event.command.get(name)
        if name == "getMore":
            target = event.command.get("collection")
        collection = target if isinstance(target, str) else "-"
        MONGO_COMMANDS.labels(collection, name).inc()

    def succeeded(self, event: CommandSucceededEvent) -> None:
        MONGO_DURATION.labels(event.command_name).observe(event.duration_micros / 1e6)

    def failed(self, event: CommandFailedEvent) -> None:
        MONGO_DURATION.labels(event.command_name).observe(event.duration_micros / 1e6)
        MONGO_FAILURES.labels(event.command_name).inc()


# --- Exposition --------------------------------------------------------------------------
def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _CacheRatio(Collector):
    """Adds `alawael_cache_hit_ratio{cache}` computed from the (possibly summed across
    workers) cache counters, so dashboards need no PromQL for the common question."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        hits: dict[str, float] = defaultdict(float)
        totals: dict[str, float] = defaultdict(float)
        for family in self.source.collect():
            yield family
            if family.name != "alawael_cache_requests":
                continue
            for sample in family.samples:
                if not sample.name.endswith("_total"):
                    continue
                cache = sample.labels.get("cache", "")
                totals[cache] += sample.value
                if sample.labels.get("result") == "hit":
                    hits[cache] += sample.value
        ratio = GaugeMetricFamily(
            "alawael_cache_hit_ratio",
            "Cache hits / lookups since start, per cache.",
            None,
            ["cache"],
        )
        for cache, total in sorted(totals.items()):
            ratio.add_metric([cache], hits[cache] / total if total else 0.0)
        yield ratio


def render_metrics(extra: Sequence[Collector] = ()) -> bytes:
    """This worker's (or, multi-process, every worker's) metrics, plus `extra` collectors
    read at scrape time (the backup status: set up by the app, so this module stays below
    the backup package)."""
    path = multiprocess_dir()
    if path:
        from prometheus_client import multiprocess

        source = CollectorRegistry()
        multiprocess.MultiProcessCollector(source, path=path)  # type: ignore[no-untyped-call]
    else:
        source = REGISTRY
    out = CollectorRegistry(auto_describe=False)
    out.register(_CacheRatio(source))
    for collector in extra:
        out.register(collector)
    return generate_latest(out)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def metrics_allowed(request: Request) -> bool:
    """With METRICS_TOKEN set, a matching `Authorization: Bearer` is required. Without it,
    development lets loopback clients (`curl localhost`) scrape; production refuses
    everyone, because behind a reverse proxy on the same host every client arrives from
    loopback."""
    settings = request.app.state.settings
    token = settings.metrics_token
    if token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.get_secret_value().encode()
        )
    if settings.is_production:
        return False
    return _is_loopback(request.client.host if request.client else None)


async def metrics_endpoint(request: Request) -> Response:
    if not metrics_allowed(request):
        settings = request.app.state.settings
        if settings.is_production and settings.metrics_token is None:
            return PlainTextResponse("forbidden: set METRICS_TOKEN to scrape\n", status_code=403)
        return PlainTextResponse("forbidden\n", status_code=403)
    extra: Sequence[Collector] = getattr(request.app.state, "metrics_collectors", ())
    return Response(render_metrics(extra), media_type=CONTENT_TYPE_LATEST)


def mark_worker_dead(pid: int | None = None) -> None:
    """Drop this worker's live gauges from the multiprocess directory on exit."""
    path = multiprocess_dir()
    if path:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid(), path)  # type: ignore[no-untyped-call]
