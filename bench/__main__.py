"""`make bench`: throughput, latency, server CPU and MongoDB round trips per request.

    python -m bench [--seconds 10] [--warmup 3] [--skip-fanout] [--orders 1000]
    python -m bench --soak [--minutes 10 | --seconds S] ...   (bench/soak.py)

Five server runs (`alawael serve`, one worker, ENV=production, BENCH_ROUTES=1 for the
static ceiling route) on one seeded embedded database and a real Redis:
  cold   CACHE_ENABLED=false   ceiling, dashboard, productBySku, products first:20
  warm   CACHE_ENABLED=true OPERATION_CACHE=false   resolver cache only, the same reads
  opcache  + OPERATION_CACHE=true (whole-result cache, the default), the same reads
  opcache-rl  the same with rate limits on (a budget that never runs out): hits pay the charge
  naive  no DataLoaders        dashboard (one find_one per relation; BENCH_NAIVE_LOADERS=1)
  write  CACHE_ENABLED=true    placeOrder at 16 connections (last: it grows the data)
then the per-hit CPU of an operation-cache hit measured in-process (bench.hit_cpu), then
subscription fan-out (bench.fanout, 1,000 subscribers) in this process. The server is
pinned to core 0, the database and the load generator to core 1. Prints one table and
writes bench/results/<timestamp>.json. Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import dashboard as q
from bench import infra, load

RESULTS = Path(__file__).resolve().parent / "results"
OPCACHE = {"CACHE_ENABLED": "true", "OPERATION_CACHE": "true"}
# Rate limits on, but never refusing: what a hit costs with its charge included.
UNLIMITED = {
    "RATE_LIMIT_ENABLED": "true",
    "RATE_LIMIT_DEFAULT": "1000000000/minute",
    "RATE_LIMIT_USER": "1000000000/minute",
}


def _check(server: infra.Server, target: load.Target) -> bytes:
    """One request before measuring: the operation must really succeed (no errors)."""
    if target.bodies:
        r = httpx.post(
            server.url + target.path,
            content=target.bodies[0],
            headers={**(target.headers or {}), "Content-Type": "application/json"},
            timeout=30,
        )
    else:
        r = httpx.get(server.url + target.path, headers=target.headers, timeout=30)
    r.raise_for_status()
    if target.path == "/graphql":
        data = r.json()
        assert "errors" not in data, data["errors"]
        payload = data.get("data", {}).get("placeOrder")
        assert payload is None or payload["errors"] == [], payload
    return r.content


def measure(
    server: infra.Server, target: load.Target, connections: int, args: argparse.Namespace
) -> dict[str, Any]:
    _check(server, target)
    load.run(server.url, target, connections, args.warmup)
    before = server.snapshot()
    db_before = infra.cpu_seconds(args.db_pid)
    result = load.run(server.url, target, connections, args.seconds)
    db_after = infra.cpu_seconds(args.db_pid)
    after = server.snapshot()
    served = max(result.requests, 1)
    return {
        **load.as_dict(result),
        "connections": connections,
        "cpu_ms_per_req": round(1000 * (after["cpu"] - before["cpu"]) / served, 2),
        # The database's own CPU (SecantusDB is a Python server on the other core).
        "db_cpu_ms_per_req": round(1000 * (db_after - db_before) / served, 2),
        # The /metrics scrape itself issues no MongoDB command.
        "mongo_per_req": round((after["mongo"] - before["mongo"]) / served, 2),
    }


def server_run(
    name: str,
    env: infra.Environment,
    extra: dict[str, str],
    scenarios: list[tuple[str, load.Target, int]],
    workdir: Path,
    args: argparse.Namespace,
    static_file: Path,
) -> tuple[dict[str, dict[str, Any]], float]:
    server = infra.Server(
        env.env(BENCH_ROUTES="1", BENCH_STATIC_FILE=str(static_file), **extra),
        workdir / f"server-{name}.log",
    ).start()
    out: dict[str, dict[str, Any]] = {}
    try:
        for label, target, conns in scenarios:
            if target.path == "/_bench/static" and not static_file.exists():
                continue
            print(f"  {name:<6} {label:<28}", end="", flush=True)
            out[label] = measure(server, target, conns, args)
            r = out[label]
            print(
                f"{r['rps']:9.1f} req/s  p95 {r['p95_ms']:7.1f} ms  "
                f"cpu {r['cpu_ms_per_req']:6.2f} ms  db cpu {r['db_cpu_ms_per_req']:6.2f} ms  "
                f"mongo {r['mongo_per_req']:5.2f}"
            )
        rss = infra.rss_mb(server.pid)
    finally:
        server.stop()
    return out, rss


async def fanout(env: infra.Environment, subscribers: int, events: int) -> dict[str, Any]:
    from alawael.config import Settings
    from alawael.server import open_resources
    from bench import fanout as fan

    settings = Settings(
        env="test",
        mongodb_uri=env.mongo_uri,
        mongodb_db=f"bench_fanout_{uuid.uuid4().hex[:6]}",
        redis_url=env.redis_url,
        events_channel_prefix=f"bench{uuid.uuid4().hex[:6]}:",
        jobs_enabled=False,
        analytics_enabled=False,
        cache_enabled=False,
    )
    async with open_resources(settings) as res:
        await asyncio.wait_for(res.events.wait_connected(), 10)  # type: ignore[attr-defined]
        try:
            return await fan.run(res, subscribers, events)
        finally:
            await res.client.drop_database(settings.mongodb_db)


def _row(label: str, r: dict[str, Any] | None, ceiling: float | None) -> str:
    if r is None:
        return f"{label:<34} {'-':>9}"
    ratio = f"{100 * r['rps'] / ceiling:5.1f}%" if ceiling else "    -"
    return (
        f"{label:<34} {r['rps']:9.1f} {ratio:>7} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} "
        f"{r['p99_ms']:8.1f} {r['cpu_ms_per_req']:8.2f} {r['db_cpu_ms_per_req']:8.2f} "
        f"{r['mongo_per_req']:7.2f} "
        f"{r['connections']:5d} {r['errors']:6d}"
    )


def print_table(report: dict[str, Any]) -> None:
    print()
    head = (
        f"{'scenario':<34} {'req/s':>9} {'%ceil':>7} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'cpu ms':>8} {'db cpu':>8} {'mongo':>7} {'conns':>5} {'errors':>6}"
    )
    print(head)
    print("-" * len(head))
    for run_name in ("cold", "warm", "opcache", "opcache-rl", "naive", "write"):
        run = report["runs"].get(run_name)
        if not run:
            continue
        ceiling = run["scenarios"].get("http ceiling (static)", {}).get("rps")
        if run_name in ("naive", "write"):
            ceiling = (
                report["runs"]["cold"]["scenarios"].get("http ceiling (static)", {}).get("rps")
            )
        for label, r in run["scenarios"].items():
            print(_row(f"[{run_name}] {label}", r, ceiling))
        print(f"{'[' + run_name + '] worker RSS after run':<34} {run['rss_mb']:9.1f} MB")
    hit = report.get("hit_cpu")
    if hit:
        print(
            f"{'operation-cache hit, in-process':<34} cpu {hit['identity_ms']:.3f} ms/hit "
            f"(gzip {hit['gzip_ms']:.3f} ms), bare ASGI app {hit['bare_ms']:.3f} ms, "
            f"{hit['body_bytes']} B, rate limits on"
        )
    fan = report.get("fanout")
    if fan:
        label = f"fan-out {fan['subscribers']} subscribers"
        print(
            f"{label:<34} p50 {fan['p50_ms']:.1f} ms  "
            f"p99 {fan['p99_ms']:.1f} ms  max {fan['max_ms']:.1f} ms  "
            f"last subscriber (median) {fan['last_subscriber_p50_ms']:.1f} ms"
        )
    print(
        "\ncpu ms = server utime+stime per request; db cpu = the database process's; "
        "mongo = MongoDB commands per request (alawael_mongo_commands_total);\n"
        "%ceil = req/s / the static route's req/s in the same server run; "
        "load generator: " + report["generator"]
    )


def main() -> int:
    if "--soak" in sys.argv[1:]:
        # `make bench BENCH_ARGS="--soak --minutes 3"`: the soak scenario (bench/soak.py).
        from bench import soak

        sys.argv = [sys.argv[0], *(a for a in sys.argv[1:] if a != "--soak")]
        return soak.main()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--skip-fanout", action="store_true")
    parser.add_argument(
        "--only",
        choices=["cold", "warm", "opcache", "opcache-rl", "naive", "write", "hit-cpu"],
        action="append",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    report: dict[str, Any] = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "generator": load.generator_name(),
        "seconds_per_scenario": args.seconds,
        "runs": {},
    }
    print(f"load average {report['load_average']}; generator {report['generator']}")
    with tempfile.TemporaryDirectory(prefix="alawael-bench-") as tmp:
        workdir = Path(tmp)
        db = infra.start_database(workdir)
        assert db._proc is not None
        args.db_pid = db._proc.pid
        redis = infra.start_redis(workdir)
        try:
            env = infra.Environment(db.uri, redis.url, "bench")
            work = infra.prepare_workload(env, args.orders, args.products)
            auth, product_ids, sku = work.auth, work.product_ids, work.sku
            static = load.Target("/_bench/static")
            dash = load.Target("/graphql", [q.body(q.DASHBOARD)], auth)
            by_sku = load.Target("/graphql", [q.body(q.PRODUCT_BY_SKU, {"sku": sku})], auth)
            prods = load.Target("/graphql", [q.body(q.PRODUCTS_20)], auth)
            place = load.Target("/graphql", q.place_order_bodies(product_ids), auth)
            static_file = workdir / "dashboard.json"
            reads = [
                ("http ceiling (static)", static, 32),
                ("dashboard (orders 50)", dash, 32),
                ("productBySku", by_sku, 32),
                ("products first:20", prods, 32),
            ]
            runs: list[tuple[str, dict[str, str], list[tuple[str, load.Target, int]]]] = [
                ("cold", {"CACHE_ENABLED": "false"}, reads),
                ("warm", {"CACHE_ENABLED": "true", "OPERATION_CACHE": "false"}, reads),
                ("opcache", {"CACHE_ENABLED": "true", "OPERATION_CACHE": "true"}, reads),
                ("opcache-rl", {**OPCACHE, **UNLIMITED}, reads),
                (
                    "naive",
                    {"CACHE_ENABLED": "false", "BENCH_NAIVE_LOADERS": "1"},
                    [("dashboard (orders 50)", dash, 32)],
                ),
                # Last: the orders it places would make every later read scan more data.
                ("write", {"CACHE_ENABLED": "true"}, [("placeOrder", place, 16)]),
            ]
            for name, extra, scenarios in runs:
                if args.only and name not in args.only:
                    continue
                if not static_file.exists():
                    # The ceiling route answers with a real dashboard response's bytes.
                    probe = infra.Server(env.env(**extra), workdir / "probe.log").start()
                    try:
                        static_file.write_bytes(_check(probe, dash))
                    finally:
                        probe.stop()
                print(f"server run: {name}")
                results, rss = server_run(name, env, extra, scenarios, workdir, args, static_file)
                report["runs"][name] = {"env": extra, "scenarios": results, "rss_mb": round(rss, 1)}
            if not args.only or "hit-cpu" in args.only:
                from bench import hit_cpu

                print("operation-cache hit CPU, in-process")
                report["hit_cpu"] = hit_cpu.measure(env, q.body(q.DASHBOARD), auth)
            if not args.skip_fanout:
                print(f"fan-out: {args.subscribers} subscribers, {args.events} events")
                report["fanout"] = {
                    "subscribers": args.subscribers,
                    **asyncio.run(fanout(env, args.subscribers, args.events)),
                }
        finally:
            db.stop()
            redis.stop()
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    report["load_average_after"] = os.getloadavg()
    print_table(report)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwrote {path} ({report['total_seconds']}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
