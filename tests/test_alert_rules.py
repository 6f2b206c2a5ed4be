"""The Prometheus alert rules and the Grafana dashboard: valid, and about metrics we have."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from alawael.config import Settings
from alawael.server import create_app

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy" / "prometheus" / "alawael.rules.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "alawael-dashboard.json"
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")
# The runbook's thresholds: each needs a rule.
EXPECTED_ALERTS = {
    "AlawaelHighErrorRate",
    "AlawaelSlowGraphQL",
    "AlawaelSlowREST",
    "AlawaelSlowMongoCommand",
    "AlawaelWorkerMemoryHigh",
    "AlawaelNoRecentBackup",
    "AlawaelRestoreDrillFailed",
    "AlawaelRedisUnreachable",
    "AlawaelRateLimitSpike",
}


def promtool() -> str:
    """tools/promtool.sh finds promtool or installs it; a missing one fails, never skips."""
    found = subprocess.run(
        [str(ROOT / "tools" / "promtool.sh")], capture_output=True, text=True, check=False
    )
    assert found.returncode == 0, found.stderr
    return found.stdout.strip()


def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(EXPECTED_ALERTS)} rules found" in result.stdout


def test_every_runbook_threshold_has_a_rule() -> None:
    assert set(re.findall(r"^\s*- alert: (\w+)", RULES.read_text(), re.M)) == EXPECTED_ALERTS


def _named_metrics(text: str) -> set[str]:
    return set(re.findall(r"\balawael_[a-z0-9_]+", text))


@pytest.fixture
async def metrics_text(settings: Settings, tmp_path: Path) -> str:
    app: Starlette = create_app(settings.model_copy(update={"backup_dir": tmp_path}))
    async with app.router.lifespan_context(app):
        from alawael.infra.process_metrics import sample

        await sample(app.state.resources)  # what the worker's sampler sets every few seconds
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            # Traffic, so that the labelled histograms have series to show.
            await client.post("/graphql", json={"query": "query Q { serverInfo { name } }"})
            await client.get("/api/health")
            response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


def _families(exposition: str) -> dict[str, str]:
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", exposition, re.M))


def _family(name: str) -> str:
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def _exists(name: str, families: dict[str, str]) -> bool:
    if name in families:
        return True
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and families.get(name.removesuffix(suffix)) == "histogram":
            return True
    # prometheus-client declares counters without their `_total` in `# TYPE`.
    return name.endswith("_total") and families.get(name.removesuffix("_total")) == "counter"


def test_every_metric_a_rule_names_is_in_metrics(metrics_text: str) -> None:
    families = _families(metrics_text)
    named = _named_metrics(RULES.read_text())
    assert len(named) >= 12
    missing = sorted(name for name in named if not _exists(name, families))
    assert missing == []
    # AlawaelSlowMongoCommand subtracts the 5 s bucket: the histogram must have one.
    assert re.search(
        r'^alawael_mongo_command_duration_seconds_bucket\{[^}]*le="5\.0"', metrics_text, re.M
    )


def test_the_dashboard_shows_the_alerted_series(metrics_text: str) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = " ".join(
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    )
    families = _families(metrics_text)
    assert sorted(n for n in _named_metrics(exprs) if not _exists(n, families)) == []
    alerted = {_family(n) for n in _named_metrics(RULES.read_text())}
    assert alerted <= {_family(n) for n in _named_metrics(exprs)}
