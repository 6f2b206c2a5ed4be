"""MongoDB: the client, the embedded SecantusDB server, and index creation.

The embedded server runs as a *separate process*: WiredTiger locks its data directory to
one process, and several uvicorn workers must share one database. `alawael serve` starts
it once in the parent process and hands its URI to the workers through MONGODB_URI.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, MongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError
from pymongo.monitoring import CommandListener

log = logging.getLogger("alawael.db")

Document = dict[str, Any]
Db = AsyncDatabase[Document]


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# `alawael serve` writes the address of the embedded database it runs into the data
# directory, so that CLI commands (seed, create-admin) run beside it connect to that server
# instead of trying to open the same files (WiredTiger locks them to one process).
ADDRESS_FILE = "alawael-address.json"
# WiredTiger holds a POSIX record lock on this file for as long as a server has the
# directory open, including the seconds a stopping server spends on its last checkpoint.
LOCK_FILE = "WiredTiger.lock"
LOCK_WAIT_SECONDS = 30.0

# SecantusDB's own TTL sweeper walks *every document* of every TTL-indexed collection each
# `ttl_sweep_seconds` while holding its storage lock (py-spy during a stall:
# Storage._ttl_sweep_loop -> prune_ttl_all_collections -> prune_ttl -> _scan_docs, and every
# connection thread parked in Storage.get_collection_options on that lock): each minute,
# every query waits as long as it takes to decode analytics + audit_trail + sessions +
# idempotency. We turn it off and expire documents through the TTL indexes instead, in
# small batches, from our job runner (alawael.jobs.expire_ttl_documents).
EMBEDDED_TTL_SWEEP_SECONDS = 0.0


def embedded_config(*, ttl_sweep_seconds: float = EMBEDDED_TTL_SWEEP_SECONDS) -> str:
    """The secantusd.toml our embedded database runs with (`<= 0` disables the sweeper)."""
    return f"[storage]\nttl_sweep_seconds = {float(ttl_sweep_seconds)!r}\n"


def data_dir_locked(storage_path: Path | str) -> bool:
    """Whether another process holds the WiredTiger lock of this data directory."""
    try:
        fd = os.open(Path(storage_path) / LOCK_FILE, os.O_RDWR)
    except OSError:
        return False  # no lock file yet: a new directory
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases the probe's own lock at once
    return False


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True


def running_embedded_uri(storage_path: Path | str, *, timeout_ms: int = 1000) -> str | None:
    """The URI of the embedded database a running `alawael serve` advertises for this data
    directory, if that database answers; None when no server runs there."""
    try:
        info = json.loads((Path(storage_path) / ADDRESS_FILE).read_text())
        uri, owner = str(info["uri"]), int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _process_alive(owner):
        return None  # its server died; the database is an orphan on its way out
    try:
        client: MongoClient[Document]
        with MongoClient(uri, serverSelectionTimeoutMS=timeout_ms) as client:
            client.admin.command("ping")
    except PyMongoError:
        return None  # a stale file left by a server that was killed
    return uri


class EmbeddedMongo:
    """A SecantusDB server (MongoDB wire protocol over WiredTiger) run as a child process.

    `advertise=True` (the server's own database) records its address in the data directory
    while it runs, for CLI commands started beside the server."""

    def __init__(
        self,
        storage_path: Path | str,
        *,
        port: int | None = None,
        extra_args: Sequence[str] = (),
        log_file: Path | None = None,
        advertise: bool = False,
        lock_wait: float = LOCK_WAIT_SECONDS,
        ttl_sweep_seconds: float = EMBEDDED_TTL_SWEEP_SECONDS,
    ) -> None:
        self.storage_path = str(storage_path)
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.log_file = log_file
        self.advertise = advertise and self.storage_path != ":memory:"
        self.lock_wait = lock_wait
        self.ttl_sweep_seconds = ttl_sweep_seconds
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        # directConnection: the server advertises a one-node replica set named "secantus";
        # talking to it directly avoids a topology dance on every connect.
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def address_file(self) -> Path:
        return Path(self.storage_path) / ADDRESS_FILE

    def start(self, timeout: float = 60.0) -> str:
        if self.storage_path != ":memory:":
            Path(self.storage_path).mkdir(parents=True, exist_ok=True)
            self._wait_for_lock()
        # An explicit --config also turns off secantus' auto-discovery of ./secantusd.toml
        # and ~/.secantus/secantusd.toml: the database behaves the same from any directory.
        # It is read once at start-up, so the file goes as soon as the server answers.
        fd, config = tempfile.mkstemp(prefix="alawael-secantusd-", suffix=".toml")
        with os.fdopen(fd, "w") as f:
            f.write(embedded_config(ttl_sweep_seconds=self.ttl_sweep_seconds))
        try:
            self._launch(config, timeout)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(config)
        if self.advertise:
            tmp = self.address_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"uri": self.uri, "pid": os.getpid()}))
            tmp.replace(self.address_file)  # atomic: a reader never sees half a file
        return self.uri

    def _launch(self, config: str, timeout: float) -> None:
        cmd = [
            sys.executable,
            "-m",
            "alawael.infra.embedded_child",
            str(os.getpid()),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            self.storage_path,
            "--log-level",
            "WARNING",
            "--config",
            config,
            *self.extra_args,
        ]
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        log.info("starting embedded database", extra={"port": self.port, "path": self.storage_path})
        # start_new_session: a Ctrl-C in the terminal goes to the server, which stops the
        # database itself in order, instead of killing it mid-write.
        self._proc = subprocess.Popen(cmd, stdout=out, stderr=out, start_new_session=True)
        self._wait_ready(timeout)

    def _wait_for_lock(self) -> None:
        """A server stopped a moment ago may still be writing its last checkpoint, holding
        the directory's lock for a few seconds: wait for it (bounded) instead of failing."""
        if not data_dir_locked(self.storage_path):
            return
        log.warning(
            "waiting up to %.0f s for the database files in %s to be released "
            "(a server stopping a moment ago still closes them)",
            self.lock_wait,
            self.storage_path,
        )
        deadline = time.monotonic() + self.lock_wait
        while data_dir_locked(self.storage_path):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the database files in {self.storage_path} stayed locked by another "
                    f"process for {self.lock_wait:.0f} s: is another server using them? "
                    "Stop it, or set EMBEDDED_DB_PATH to another directory."
                )
            time.sleep(0.1)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(
                    f"embedded database exited with code {self._proc.returncode} "
                    f"(data at {self.storage_path}; is another server using it?)"
                )
            try:
                client: MongoClient[Document]
                with MongoClient(self.uri, serverSelectionTimeoutMS=500) as client:
                    client.admin.command("ping")
                return
            except PyMongoError as exc:
                last = exc
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"embedded database did not answer within {timeout:.0f}s: {last}")

    def stop(self, timeout: float = 20.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        if self.advertise:
            with contextlib.suppress(OSError):
                self.address_file.unlink()
        proc.terminate()  # SIGTERM: the server checkpoints WiredTiger and exits
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("embedded database ignored SIGTERM; killing it")
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """SIGKILL, for crash tests."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None


def make_client(
    uri: str, *, timeout_ms: int = 3000, listeners: Sequence[CommandListener] = ()
) -> AsyncMongoClient[Document]:
    """The one async client per worker; it pools connections and is safe to share."""
    return AsyncMongoClient(
        uri,
        appname="alawael",
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        event_listeners=list(listeners),
    )


async def scans_before_limit(client: AsyncMongoClient[Document]) -> bool:
    """Whether this database reads a sorted find's whole index range before it applies the
    limit: SecantusDB (0.7) does, and names itself in buildInfo; MongoDB stops at the
    limit. Unknown (database down at start-up) reads as MongoDB's behaviour."""
    try:
        info = await client.admin.command("buildInfo")
    except PyMongoError:
        return False
    return "secantusVersion" in info


def mongo_uri_for_logs(uri: str) -> str:
    """Hide credentials when a URI is logged or shown in /api/health."""
    if "@" in uri:
        scheme, rest = uri.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return uri


def default_embedded_log(path: Path) -> Path:
    return path.parent / "secantus.log" if path.name else Path(os.devnull)
