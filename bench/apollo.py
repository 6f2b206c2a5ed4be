"""The Apollo Server 5 peer (bench/peers/apollo): installed with `npm ci` from its committed
lock, started on the server core like `alawael serve`, measured the same way.

It is the yardstick of issue 17: Node's GraphQL execution on the same database, data and
queries, so every run can say what this project costs per request relative to Apollo. When
node or npm is missing, or the install fails (no registry), the bench skips the peer and
says why; it never fails the bench.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from alawael.infra.db import free_port
from bench import infra
from bench.infra import SERVER_CORE, cpu_seconds

PEER_DIR = Path(__file__).resolve().parent / "peers" / "apollo"
# @apollo/server 5 and mongodb 7 need Node 20.19 or later.
MIN_NODE = (20, 19)


def unavailable() -> str | None:
    """Why the peer cannot run here, or None when it can."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "node/npm not installed"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    try:
        major, minor = (int(x) for x in version.stdout.strip().lstrip("v").split(".")[:2])
    except ValueError:
        return f"cannot read the node version ({version.stdout.strip()!r})"
    if (major, minor) < MIN_NODE:
        return f"node {version.stdout.strip()} is older than {'.'.join(map(str, MIN_NODE))}"
    return None


def install(log: Path) -> str | None:
    """`npm ci` from the committed package-lock.json; returns why it failed, or None."""
    with open(log, "ab") as out:
        result = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--omit=dev"],
            cwd=PEER_DIR,
            stdout=out,
            stderr=out,
            check=False,
        )
    return None if result.returncode == 0 else f"npm ci failed ({result.returncode}); see {log}"


class ApolloPeer:
    """`node server.js`, pinned to the server core (taskset execs node: the pid is node's)."""

    def __init__(self, env: infra.Environment, log: Path) -> None:
        self.port = free_port()
        self.stats_port = free_port()
        self.env = {
            **env.env(),
            "NODE_ENV": "production",
            "PORT": str(self.port),
            "STATS_PORT": str(self.stats_port),
        }
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60) -> ApolloPeer:
        cmd = ["node", "server.js"]
        if shutil.which("taskset"):
            cmd = ["taskset", "-c", SERVER_CORE, *cmd]
        out = open(self.log, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, cwd=PEER_DIR, env=self.env, stdout=out, stderr=out)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(f"apollo peer exited with {code}; see {self.log}")
            try:
                httpx.get(f"http://127.0.0.1:{self.stats_port}/", timeout=1).raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"apollo peer not ready; see {self.log}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def snapshot(self) -> dict[str, Any]:
        stats = httpx.get(f"http://127.0.0.1:{self.stats_port}/", timeout=5).json()
        return {"cpu": cpu_seconds(self.pid), "mongo": float(stats["mongoCommands"])}
