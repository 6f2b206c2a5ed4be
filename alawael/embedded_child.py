"""Entry point of the embedded SecantusDB child process: `python -m alawael.embedded_child
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


def main() -> int:
    parent_pid = int(sys.argv[1])
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    from secantus.cli import main as run_server

    return int(run_server(sys.argv[2:]) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
