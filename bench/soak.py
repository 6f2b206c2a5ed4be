"""`make bench` soak scenario: minutes of steady load, reported per 10-second interval.

    python -m bench.soak [--minutes 10] [--seconds S] [--interval 10] [--readers 12]
                         [--writers 2] [--timeout 2] [--rate-limit-user 10000000/15 minutes]

What an operator runs: `alawael serve` (one worker, ENV=production) on the embedded
database and *no* Redis (in-process cache and rate limiter), seeded, rate limiting ON with a
per-user limit (the admin's token sends everything, so one user carries the whole load).
Two mixes run at once from this process (asyncio + httpx, one connection per task):
  read   the cached operations: dashboard (orders 50), productBySku, products first:20
  write  placeOrder (1-2 lines) and adjustStock (+1/-1 on a stocked-up product)
For every interval and mix: req/s, p50/p99/max latency, errors (transport, non-2xx,
GraphQL `errors`), timeouts (no answer within --timeout, as wrk counts them), and the
worker's RSS. Writes bench/results/soak-<stamp>.md (table) and .png (plot), and .json.

Periodic stalls are the point: a stall shows as an interval with a max near the timeout, a
drop in req/s and timeouts on every connection at once. Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import dashboard as q
from bench import infra, results

ADJUST_STOCK = """
mutation Adjust($id: ID!, $delta: Int!) {
  adjustStock(id: $id, delta: $delta, reason: "soak") { product { id stock } errors { code } }
}
"""


@dataclass
class Sample:
    at: float  # seconds since the start of the measured run (request start)
    ms: float
    ok: bool
    timeout: bool


@dataclass
class Mix:
    name: str
    bodies: list[bytes]
    connections: int
    pause_s: float = 0.0  # per connection, between requests (paces the write mix)
    samples: list[Sample] = field(default_factory=list)
    error_examples: list[str] = field(default_factory=list)


def _has_errors(content: bytes) -> bool:
    """A GraphQL error anywhere: top-level `errors`, or a payload's non-empty UserErrors."""
    if b'"errors"' not in content:
        return False
    data = orjson.loads(content)
    if data.get("errors"):
        return True
    for payload in (data.get("data") or {}).values():
        if isinstance(payload, dict) and payload.get("errors"):
            return True
    return False


async def _connection(
    client: httpx.AsyncClient, mix: Mix, start: float, deadline: float, seed: int
) -> None:
    rng = random.Random(seed)
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        ok, timed_out = True, False
        try:
            r = await client.post("/graphql", content=rng.choice(mix.bodies))
            ok = r.status_code < 300 and not _has_errors(r.content)
            if not ok and len(mix.error_examples) < 5:
                mix.error_examples.append(f"{r.status_code} {r.text[:300]}")
        except httpx.TimeoutException:
            ok, timed_out = False, True
        except httpx.HTTPError as exc:
            ok = False
            if len(mix.error_examples) < 5:
                mix.error_examples.append(repr(exc))
        mix.samples.append(Sample(t0 - start, 1000 * (time.perf_counter() - t0), ok, timed_out))
        if mix.pause_s:
            await asyncio.sleep(mix.pause_s)


async def _sample_rss(
    pid: int, start: float, deadline: float, out: list[tuple[float, float]]
) -> None:
    while time.perf_counter() < deadline:
        out.append((time.perf_counter() - start, infra.rss_mb(pid)))
        await asyncio.sleep(1.0)


async def drive(
    url: str, auth: dict[str, str], mixes: list[Mix], seconds: float, limit_s: float, pid: int
) -> list[tuple[float, float]]:
    headers = {**auth, "Content-Type": "application/json"}
    total = sum(m.connections for m in mixes)
    limits = httpx.Limits(max_connections=total, max_keepalive_connections=total)
    rss: list[tuple[float, float]] = []
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=limit_s
    ) as client:
        start = time.perf_counter()
        deadline = start + seconds
        tasks = [_sample_rss(pid, start, deadline, rss)]
        seed = 0
        for mix in mixes:
            for _ in range(mix.connections):
                seed += 1
                tasks.append(_connection(client, mix, start, deadline, seed))
        await asyncio.gather(*tasks)
    return rss


def _pct(values: list[float], p: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def intervals(
    mixes: list[Mix], rss: list[tuple[float, float]], seconds: float, width: float
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    count = max(1, int(seconds // width))
    for i in range(count):
        lo, hi = i * width, (i + 1) * width
        in_window = [mb for at, mb in rss if lo <= at < hi]
        row: dict[str, Any] = {
            "t_end_s": round(hi),
            "rss_mb": round(max(in_window), 1) if in_window else None,
        }
        for mix in mixes:
            got = [s for s in mix.samples if lo <= s.at < hi]
            ms = [s.ms for s in got]
            row[mix.name] = {
                "rps": round(len(got) / width, 1),
                "p50_ms": round(_pct(ms, 50), 1),
                "p99_ms": round(_pct(ms, 99), 1),
                "max_ms": round(max(ms), 1) if ms else 0.0,
                "errors": sum(1 for s in got if not s.ok and not s.timeout),
                "timeouts": sum(1 for s in got if s.timeout),
            }
        rows.append(row)
    return rows


def markdown(report: dict[str, Any]) -> str:
    names = report["mixes"]
    lines = [
        f"# Soak {report['timestamp']}",
        "",
        f"{report['seconds']:.0f} s, `alawael serve` (1 worker, embedded database, no Redis), "
        f"rate limit user `{report['rate_limit_user']}`, strategy "
        f"`{report['rate_limit_strategy']}`; "
        + ", ".join(f"{m}: {c} connections" for m, c in report["connections"].items())
        + f"; timeout {report['timeout_s']} s; load average before "
        f"{report['load_average']}.",
        "",
    ]
    head = "| t (s) | RSS MB |"
    rule = "|---:|---:|"
    for name in names:
        head += f" {name} req/s | p50 ms | p99 ms | max ms | err | t/o |"
        rule += "---:|---:|---:|---:|---:|---:|"
    lines += [head, rule]
    for row in report["intervals"]:
        line = f"| {row['t_end_s']} | {row['rss_mb'] if row['rss_mb'] is not None else '-'} |"
        for name in names:
            r = row[name]
            line += (
                f" {r['rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} | "
                f"{r['errors']} | {r['timeouts']} |"
            )
        lines.append(line)
    s = report["summary"]
    lines += [
        "",
        "| summary | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in s.items()),
        "",
    ]
    return "\n".join(lines)


def plot(report: dict[str, Any], path: Path) -> None:
    with results.figure(path, 3, figsize=(10, 9), sharex=True) as (fig, axes):
        _plot(report, fig, axes)


def _plot(report: dict[str, Any], fig: Any, axes: Any) -> None:
    rows = report["intervals"]
    t = [r["t_end_s"] for r in rows]
    ax_lat, ax_rps, ax_rss = axes
    for name, style in zip(report["mixes"], ("-", "--"), strict=False):
        ax_lat.plot(t, [r[name]["p99_ms"] for r in rows], style, label=f"{name} p99")
        ax_lat.plot(t, [r[name]["max_ms"] for r in rows], style, label=f"{name} max", alpha=0.6)
        ax_rps.plot(t, [r[name]["rps"] for r in rows], style, label=f"{name} req/s")
    ax_lat.axhline(1000, color="red", linewidth=0.8, label="1 s")
    ax_lat.set_yscale("log")
    ax_lat.set_ylabel("latency (ms)")
    ax_lat.legend(fontsize=8)
    ax_rps.set_ylabel("req/s per 10 s")
    ax_rps.legend(fontsize=8)
    ax_rss.plot(t, [r["rss_mb"] for r in rows], color="black")
    ax_rss.set_ylabel("worker RSS (MB)")
    ax_rss.set_xlabel("seconds")
    fig.suptitle(f"soak {report['timestamp']} ({report['label']})")


def summary(report: dict[str, Any], mixes: list[Mix], server_log: Path) -> dict[str, Any]:
    rows = report["intervals"]
    rss = [r["rss_mb"] for r in rows if r["rss_mb"] is not None]
    # "After warm-up": the first minute fills caches, pools and allocator arenas.
    warm = [r["rss_mb"] for r in rows if r["rss_mb"] is not None and r["t_end_s"] > 60]
    log_text = server_log.read_text(errors="replace") if server_log.exists() else ""
    out: dict[str, Any] = {}
    for mix in mixes:
        ms = [s.ms for s in mix.samples]
        out[f"{mix.name} requests"] = len(ms)
        out[f"{mix.name} max ms"] = round(max(ms), 1) if ms else 0
        out[f"{mix.name} p99 ms"] = round(_pct(ms, 99), 1)
        out[f"{mix.name} over 1 s"] = sum(1 for x in ms if x > 1000)
        out[f"{mix.name} errors"] = sum(1 for s in mix.samples if not s.ok and not s.timeout)
        out[f"{mix.name} timeouts"] = sum(1 for s in mix.samples if s.timeout)
    out["RSS start / end MB"] = f"{rss[0] if rss else '-'} / {rss[-1] if rss else '-'}"
    out["RSS spread after 60 s MB"] = round(max(warm) - min(warm), 1) if warm else "-"
    for mix in mixes:
        for i, example in enumerate(mix.error_examples):
            out[f"{mix.name} error example {i + 1}"] = example.replace("|", "/")
    out["tracebacks in server log"] = len(re.findall(r"Traceback \(most recent call", log_text))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--seconds", type=float, help="overrides --minutes (short runs)")
    parser.add_argument("--interval", type=float, default=10)
    parser.add_argument("--readers", type=int, default=12)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument(
        "--write-pause",
        type=float,
        default=0.1,
        help="seconds each writer waits between writes: every write invalidates the cached "
        "reads, so unpaced writers would turn the cached mix into a cold one",
    )
    parser.add_argument("--timeout", type=float, default=2.0, help="wrk's default: 2 s")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument(
        "--history",
        type=int,
        default=200_000,
        help="analytics records (last 30 days) inserted before the run: a server that has "
        "been up a while keeps 90 days of them, and TTL work grows with that collection",
    )
    parser.add_argument("--rate-limit-user", default="10000000/15 minutes")
    parser.add_argument("--label", default="", help="a word for the file names (before/after)")
    parser.add_argument("--server-env", action="append", default=[], metavar="K=V")
    args = parser.parse_args()
    seconds = args.seconds if args.seconds is not None else args.minutes * 60
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    label = args.label or "soak"
    report: dict[str, Any] = {
        "timestamp": stamp,
        "label": label,
        "seconds": seconds,
        "load_average": tuple(round(x, 2) for x in os.getloadavg()),
        "timeout_s": args.timeout,
        "rate_limit_user": args.rate_limit_user,
    }
    with tempfile.TemporaryDirectory(prefix="alawael-soak-") as tmp:
        workdir = Path(tmp)
        # The embedded database exactly as `alawael serve` starts it (same class, same
        # configuration), run separately only so the seed can reach it first.
        db = infra.start_database(workdir)
        server: infra.Server | None = None
        try:
            env = infra.Environment(db.uri, "", "soak")
            work = infra.prepare_workload(env, args.orders, args.products)
            auth, product_ids, sku = work.auth, work.product_ids, work.sku
            took = add_history(env, args.history)
            print(f"added {args.history} analytics records in {took:.1f}s")
            reads = [
                q.body(q.DASHBOARD),
                q.body(q.PRODUCT_BY_SKU, {"sku": sku}),
                q.body(q.PRODUCTS_20),
            ]
            rng = random.Random(11)
            adjust = [
                q.body(ADJUST_STOCK, {"id": pid, "delta": rng.choice((1, -1))})
                for pid in rng.choices(adjustable(env, exclude=len(product_ids)), k=100)
            ]
            writes = q.place_order_bodies(product_ids) + adjust
            server_env = env.env(RATE_LIMIT_ENABLED="true", RATE_LIMIT_USER=args.rate_limit_user)
            for item in args.server_env:
                key, _, value = item.partition("=")
                server_env[key] = value
            server = infra.Server(server_env, workdir / "server.log").start()
            report["rate_limit_strategy"] = _strategy(server_env)
            mixes = [
                Mix("read", reads, args.readers),
                Mix("write", writes, args.writers, args.write_pause),
            ]
            report["mixes"] = [m.name for m in mixes]
            report["connections"] = {m.name: m.connections for m in mixes}
            print(f"soak: {seconds:.0f} s, {args.readers} read + {args.writers} write connections")
            rss = asyncio.run(drive(server.url, auth, mixes, seconds, args.timeout, server.pid))
            report["intervals"] = intervals(mixes, rss, seconds, args.interval)
            server.stop()
            report["summary"] = summary(report, mixes, workdir / "server.log")
        finally:
            if server is not None:
                server.stop()
            db.stop()
    md = markdown(report)
    base = results.write(f"soak-{stamp}-{label}", report, md, plot)
    print(md)
    print(f"wrote {base}.md, .png and .json")
    return 0


def adjustable(env: infra.Environment, *, exclude: int, count: int = 20) -> list[str]:
    """Products for adjustStock, set to a mid stock (+1/-1 stays within 0..MAX_STOCK);
    not the stocked-up ones placeOrder uses (the first `exclude` by _id)."""
    from pymongo import MongoClient

    from alawael.schema.node import to_global_id

    client: MongoClient[dict[str, Any]]
    with MongoClient(env.mongo_uri) as client:
        db = client[env.db_name]
        docs = list(db.products.find({"archived": False}, {"_id": 1}).sort("_id", 1).skip(exclude))[
            :count
        ]
        ids = [d["_id"] for d in docs]
        db.products.update_many({"_id": {"$in": ids}}, {"$set": {"stock": 500_000}})
    return [to_global_id("Product", oid) for oid in ids]


def add_history(env: infra.Environment, count: int) -> float:
    from datetime import timedelta

    from pymongo import MongoClient

    start = time.perf_counter()
    now = datetime.now(UTC)
    rng = random.Random(5)
    client: MongoClient[dict[str, Any]]
    with MongoClient(env.mongo_uri) as client:
        coll = client[env.db_name].analytics
        for offset in range(0, count, 5000):
            coll.insert_many(
                [
                    {
                        "apiEndpoint": "graphql:Dashboard",
                        "method": "POST",
                        "userId": None,
                        "status": 200,
                        "durationMs": round(rng.uniform(1, 50), 3),
                        "timestamp": now - timedelta(seconds=rng.uniform(0, 30 * 86400)),
                    }
                    for _ in range(min(5000, count - offset))
                ],
                ordered=False,
            )
    return time.perf_counter() - start


def _strategy(env: dict[str, str]) -> str:
    try:
        from alawael.protect.ratelimit import STRATEGY

        return str(STRATEGY)
    except ImportError:
        return "moving-window"


if __name__ == "__main__":
    raise SystemExit(main())
