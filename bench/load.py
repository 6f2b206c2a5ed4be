"""Load generators: wrk (C, event loop, cheap per request) when installed, else an asyncio
generator (httpx, a fixed number of connections). Both return the same figures."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.infra import DB_CORE


@dataclass
class Result:
    requests: int
    seconds: float
    errors: int  # transport errors + non-2xx
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class Target:
    """What to send: GET `path`, or POST one of `bodies` (picked at random per request)."""

    path: str
    bodies: list[bytes] | None = None
    headers: dict[str, str] | None = None


def _lua_string(value: str | bytes) -> str:
    text = value.decode() if isinstance(value, bytes) else value
    return "[==[" + text + "]==]"


_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"errors\\":%d,"
    .. "\\"p50\\":%d,\\"p95\\":%d,\\"p99\\":%d}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def _wrk_script(target: Target) -> str:
    lines = []
    for name, value in (target.headers or {}).items():
        lines.append(f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(value)}")
    if target.bodies:
        lines.append('wrk.method = "POST"')
        lines.append('wrk.headers["Content-Type"] = "application/json"')
        lines.append("bodies = {" + ",".join(_lua_string(b) for b in target.bodies) + "}")
        lines.append("math.randomseed(42)")
        lines.append(
            "request = function() return wrk.format(nil, nil, nil, "
            "bodies[math.random(#bodies)]) end"
        )
    return "\n".join(lines) + _DONE


def run_wrk(base: str, target: Target, connections: int, seconds: float) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_wrk_script(target))
        script = f.name
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "10s"]
    cmd += ["-s", script, base + target.path]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", DB_CORE, *cmd]  # never on the server's core
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    Path(script).unlink()
    line = next(x for x in out.splitlines() if x.startswith("BENCHJSON "))
    data = json.loads(line.removeprefix("BENCHJSON "))
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["errors"],
        p50_ms=data["p50"] / 1000,
        p95_ms=data["p95"] / 1000,
        p99_ms=data["p99"] / 1000,
    )


async def _run_async(base: str, target: Target, connections: int, seconds: float) -> Result:
    rng = random.Random(42)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    # wrk sends no Accept-Encoding; httpx asks for gzip by default, which would make a server
    # that compresses (alawael's GZipMiddleware) pay for gzip and one that does not (the
    # Apollo peer) not: both generators measure uncompressed responses.
    headers = {"Accept-Encoding": "identity"}
    async with httpx.AsyncClient(
        base_url=base, limits=limits, timeout=10, headers=headers
    ) as client:
        start = time.perf_counter()
        deadline = start + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    if target.bodies:
                        r = await client.post(
                            target.path,
                            content=rng.choice(target.bodies),
                            headers={**(target.headers or {}), "Content-Type": "application/json"},
                        )
                    else:
                        r = await client.get(target.path, headers=target.headers)
                    if r.status_code >= 300:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return Result(len(latencies), elapsed, errors, 1000 * q[49], 1000 * q[94], 1000 * q[98])


def run(base: str, target: Target, connections: int, seconds: float) -> Result:
    if shutil.which("wrk"):
        return run_wrk(base, target, connections, seconds)
    # The asyncio generator runs in this process: keep it off the server's core, as wrk is.
    before = os.sched_getaffinity(0)
    with contextlib.suppress(OSError):  # fewer cores than the bench assumes: measure anyway
        os.sched_setaffinity(0, {int(DB_CORE)})
    try:
        return asyncio.run(_run_async(base, target, connections, seconds))
    finally:
        os.sched_setaffinity(0, before)


def generator_name() -> str:
    return "wrk" if shutil.which("wrk") else "asyncio/httpx"


def as_dict(result: Result) -> dict[str, Any]:
    return {
        "requests": result.requests,
        "seconds": round(result.seconds, 2),
        "rps": round(result.rps, 1),
        "errors": result.errors,
        "p50_ms": round(result.p50_ms, 2),
        "p95_ms": round(result.p95_ms, 2),
        "p99_ms": round(result.p99_ms, 2),
    }
