"""Entry point of the embedded SecantusDB child process: `python -m alawael.infra.embedded_child
PARENT_PID secantus-args...`.

It runs the SecantusDB server and exits when its parent dies, however the parent died
(kill -9, a CI timeout): without this, every killed `alawael serve` or test run left an
orphaned database server behind, each costing CPU and a port.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

GRACE_SECONDS = 10.0


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    # Orphaned: stop cleanly (WiredTiger checkpoint), and hard-exit if that hangs.
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_SECONDS)
    os._exit(1)


def _honour_ttl_sweep_seconds(argv: list[str]) -> None:
    """secantus 0.7's CLI parses `[storage] ttl_sweep_seconds` from --config but never hands
    it to SecantusDBServer (secantus/cli.py main: the keyword is missing), so the sweeper
    that stalls every query once a minute kept running whatever the file said. Pass the
    file's value ourselves; `setdefault` lets a fixed CLI's own argument win."""
    if "--config" not in argv:
        return
    from pathlib import Path
    from typing import Any

    import secantus.cli as cli
    from secantus.config import load_config

    config, _ = load_config(Path(argv[argv.index("--config") + 1]))
    make_server = cli.SecantusDBServer

    def server_with_ttl_setting(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("ttl_sweep_seconds", config.ttl_sweep_seconds)
        return make_server(*args, **kwargs)

    cli.SecantusDBServer = server_with_ttl_setting


def main() -> int:
    parent_pid = int(sys.argv[1])
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    from secantus.cli import main as run_server

    _honour_ttl_sweep_seconds(sys.argv[2:])
    return int(run_server(sys.argv[2:]) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
