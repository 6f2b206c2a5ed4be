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
  apollo the Apollo Server 5 peer (bench/peers/apollo, Node): dashboard, productBySku,
         products first:20 on the same database (skipped, with the reason, without node/npm)
  write  CACHE_ENABLED=true    placeOrder at 16 connections (last: it grows the data)
then the per-hit CPU of an operation-cache hit measured in-process (bench.hit_cpu), then
subscription fan-out (bench.fanout, 1,000 subscribers) in this process. The server is
pinned to core 0, the database and the load generator to core 1. Prints one table (bench.report:
each scenario beside the Apollo peer and the bare route) and writes bench/results/<timestamp>
.md, .png and .json, plus latest.md / latest.png. Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
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
import orjson

from bench import apollo, infra, load, report, results
from bench import dashboard as q

# Either server: both have url, pid and snapshot() ({"cpu": seconds, "mongo": commands}).
AnyServer = infra.Server | apollo.ApolloPeer
OPCACHE = {"CACHE_ENABLED": "true", "OPERATION_CACHE": "true"}
# Rate limits on, but never refusing: what a hit costs with its charge included.
UNLIMITED = {
    "RATE_LIMIT_ENABLED": "true",
    "RATE_LIMIT_DEFAULT": "1000000000/minute",
    "RATE_LIMIT_USER": "1000000000/minute",
}


def _check(server: AnyServer, target: load.Target) -> bytes:
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
    server: AnyServer,
    target: load.Target,
    connections: int,
    args: argparse.Namespace,
    bodies: dict[str, bytes] | None = None,
    label: str = "",
) -> dict[str, Any]:
    """Warm up, then measure; `bodies` (when given) keeps the checked response by label."""
    body = _check(server, target)
    if bodies is not None:
        bodies[label] = body
    load.run(server.url, target, connections, args.warmup)
    before = server.snapshot()
    db_before = infra.cpu_seconds(args.db_pid)
    result = load.run(server.url, target, connections, args.seconds)
    db_after = infra.cpu_seconds(args.db_pid)
    after = server.snapshot()
    served = result.requests

    def per_request(total: float) -> float | None:
        # None when no request completed in time (all over wrk's timeout): a total divided
        # by one would read as a real, huge per-request figure.
        return round(total / served, 2) if served else None

    return {
        **load.as_dict(result),
        "connections": connections,
        "cpu_ms_per_req": per_request(1000 * (after["cpu"] - before["cpu"])),
        # The database's own CPU (SecantusDB is a Python server on the other core).
        "db_cpu_ms_per_req": per_request(1000 * (db_after - db_before)),
        # The /metrics scrape itself issues no MongoDB command.
        "mongo_per_req": per_request(after["mongo"] - before["mongo"]),
    }


def server_run(
    name: str,
    env: infra.Environment,
    extra: dict[str, str],
    scenarios: list[tuple[str, load.Target, int]],
    workdir: Path,
    args: argparse.Namespace,
    static_file: Path,
    bodies: dict[str, bytes] | None = None,
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
            out[label] = measure(server, target, conns, args, bodies, label)
            _progress(out[label])
        rss = infra.rss_mb(server.pid)
    finally:
        server.stop()
    return out, rss


def _progress(r: dict[str, Any]) -> None:
    if not r["requests"]:
        print(f"  no request completed within the timeout ({r['errors']} errors)")
        return
    print(
        f"{r['rps']:9.1f} req/s  p95 {r['p95_ms']:7.1f} ms  "
        f"cpu {r['cpu_ms_per_req']:6.2f} ms  db cpu {r['db_cpu_ms_per_req']:6.2f} ms  "
        f"mongo {r['mongo_per_req']:5.2f}"
    )


def apollo_run(
    env: infra.Environment,
    scenarios: list[tuple[str, load.Target, int]],
    workdir: Path,
    args: argparse.Namespace,
    reference: dict[str, bytes],
) -> dict[str, Any]:
    """The Apollo peer on the same reads (without the auth header: it has no auth). Returns
    the run, or {"skipped": why} when node/npm is missing or the install fails."""
    why = apollo.unavailable() or apollo.install(workdir / "npm-ci.log")
    if why:
        print(f"server run: apollo skipped: {why}")
        return {"skipped": why}
    print("server run: apollo")
    try:
        peer = apollo.ApolloPeer(env, workdir / "apollo.log").start()
    except RuntimeError as exc:  # a peer that cannot start is skipped, never the bench
        print(f"  apollo skipped: {exc}")
        return {"skipped": str(exc)}
    out: dict[str, dict[str, Any]] = {}
    same: dict[str, bool] = {}
    try:
        for label, target, conns in scenarios:
            print(f"  {'apollo':<6} {label:<28}", end="", flush=True)
            bare = load.Target(target.path, target.bodies)
            got: dict[str, bytes] = {}
            out[label] = measure(peer, bare, conns, args, got, label)
            _progress(out[label])
            if label in reference:
                # Fair only if both answer the same: compare the parsed JSON (Apollo ends
                # its body with a newline, alawael does not).
                same[label] = orjson.loads(got[label]) == orjson.loads(reference[label])
        rss = infra.rss_mb(peer.pid)
    finally:
        peer.stop()
    return {"scenarios": out, "rss_mb": round(rss, 1), "same_json": same}


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


def _add_apollo(summary: dict[str, Any], peer: dict[str, Any]) -> None:
    """The peer's figures go beside the server runs; why it was skipped, or whether its
    answers equal alawael's, under `peers`."""
    summary["peers"]["apollo"] = {k: v for k, v in peer.items() if k != "scenarios"}
    if "scenarios" in peer:
        summary["runs"]["apollo"] = {
            "env": {"peer": "Apollo Server 5 + DataLoader, no auth"},
            "scenarios": peer["scenarios"],
            "rss_mb": peer["rss_mb"],
        }


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
    # 30: the first event (after a quiet spell) is then 1/30 of the samples, so the p99 is
    # not that one event's figure alone.
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--skip-fanout", action="store_true")
    parser.add_argument(
        "--only",
        choices=["cold", "warm", "opcache", "opcache-rl", "naive", "apollo", "write", "hit-cpu"],
        action="append",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    summary: dict[str, Any] = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "generator": load.generator_name(),
        "seconds_per_scenario": args.seconds,
        "runs": {},
        "peers": {},
    }
    print(f"load average {summary['load_average']}; generator {summary['generator']}")
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
            bodies: dict[str, bytes] = {}  # the cold run's answers, to compare Apollo's
            for name, extra, scenarios in runs:
                if name == "write" and (not args.only or "apollo" in args.only):
                    # Before the write run, which grows the data the reads scan.
                    _add_apollo(summary, apollo_run(env, reads[1:], workdir, args, bodies))
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
                measured, rss = server_run(
                    name,
                    env,
                    extra,
                    scenarios,
                    workdir,
                    args,
                    static_file,
                    bodies if name == "cold" else None,
                )
                summary["runs"][name] = {
                    "env": extra,
                    "scenarios": measured,
                    "rss_mb": round(rss, 1),
                }
            if not args.only or "hit-cpu" in args.only:
                from bench import hit_cpu

                print("operation-cache hit CPU, in-process")
                summary["hit_cpu"] = hit_cpu.measure(env, q.body(q.DASHBOARD), auth)
            if not args.skip_fanout:
                print(f"fan-out: {args.subscribers} subscribers, {args.events} events")
                try:
                    summary["fanout"] = {
                        "subscribers": args.subscribers,
                        **asyncio.run(fanout(env, args.subscribers, args.events)),
                    }
                except Exception as exc:
                    # The last step: a broken fan-out bench must not throw away the
                    # minutes of figures measured before it.
                    summary["fanout_error"] = repr(exc)
                    print(f"  fan-out failed: {exc!r}")
                print(f"fan-out over WebSockets: {args.subscribers} sockets, {args.events} events")
                try:
                    from bench import fanout_ws

                    summary["fanout_ws"] = fanout_ws.run(
                        env.mongo_uri, env.redis_url, workdir, args.subscribers, args.events
                    )
                except Exception as exc:
                    summary["fanout_ws_error"] = repr(exc)
                    print(f"  fan-out over WebSockets failed: {exc!r}")
        finally:
            db.stop()
            redis.stop()
    summary["total_seconds"] = round(time.perf_counter() - started, 1)
    summary["load_average_after"] = os.getloadavg()
    report.print_table(summary)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    md = report.markdown(summary, f"{stamp}.png")
    # `latest`: a partial run (--only) would overwrite the full table the README links.
    latest = None if args.only else "latest"
    base = results.write(stamp, summary, md, report.plot, latest=latest)
    print(f"\nwrote {base}.md, .png and .json ({summary['total_seconds']}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
