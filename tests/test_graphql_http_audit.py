"""The `graphql-http` npm package's server audit (the GraphQL-over-HTTP spec's MUST, SHOULD
and MAY checks) against a real `alawael serve` process."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.support.npm import npm_ci
from tests.support.processes import ServerProcess

pytestmark = pytest.mark.slow

AUDIT_DIR = Path(__file__).parent / "js" / "audit"


@pytest.fixture(scope="session")
def audit_script() -> Path:
    return npm_ci(AUDIT_DIR) / "audit.mjs"


def test_every_must_and_should_of_the_graphql_over_http_audit_passes(
    audit_script: Path, mongo_uri: str, tmp_path: Path
) -> None:
    env = {
        "MONGODB_URI": mongo_uri,
        "MONGODB_DB": "graphql_http_audit",
        "RATE_LIMIT_ENABLED": "false",
    }
    with ServerProcess(env, log_path=tmp_path / "server.log") as server:
        done = subprocess.run(
            ["node", str(audit_script), f"{server.url}/graphql"],
            cwd=AUDIT_DIR,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    results = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    counts = Counter((r["name"].split(" ", 1)[0], r["status"]) for r in results)
    print("graphql-http audit:", dict(sorted(counts.items())))
    assert len(results) > 50
    failed = [
        r for r in results if r["status"] != "ok" and r["name"].startswith(("MUST", "SHOULD"))
    ]
    assert failed == [], json.dumps(failed, indent=1, ensure_ascii=False)
