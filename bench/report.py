"""The main bench's table and plot: per scenario, every server configuration beside the
Apollo peer and the bare Starlette ceiling route, with the ratios to both.

Ratios, per scenario: `cpu/apollo` is server CPU per request over the Apollo peer's for the
same query (issue 17's goal: at most 1.0x cold), `rps/apollo` likewise for req/s, `%ceil` is
req/s over the static route's in the same server run (the cold run's for runs without one),
`cpu/ceil` CPU per request over the static route's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import results

CEILING = "http ceiling (static)"
# Server runs in table order; the write run and the ceiling are shown apart.
RUNS = ("cold", "warm", "opcache", "opcache-rl", "naive", "apollo")
RUN_LABELS = {
    "cold": "alawael, caches off",
    "warm": "alawael, resolver cache",
    "opcache": "alawael, operation cache (default)",
    "opcache-rl": "alawael, operation cache, rate limits on",
    "naive": "alawael, no DataLoaders",
    "apollo": "Apollo Server 5 peer (no auth)",
    "write": "alawael, default",
}
COLUMNS = (
    "req/s",
    "rps/apollo",
    "%ceil",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "cpu ms",
    "cpu/apollo",
    "cpu/ceil",
    "db cpu ms",
    "mongo",
    "errors",
)


def _ratio(a: float | None, b: float | None, fmt: str, unit: str = "x") -> str:
    return format(a / b, fmt) + unit if a is not None and b else "-"


def _loads(values: Any) -> str:
    return " / ".join(f"{v:.2f}" for v in values) if values else "-"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ceiling(report: dict[str, Any], run: str) -> dict[str, Any] | None:
    own = report["runs"].get(run, {}).get("scenarios", {}).get(CEILING)
    cold = report["runs"].get("cold", {}).get("scenarios", {}).get(CEILING)
    found: dict[str, Any] | None = own or cold
    return found


def rows(report: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(scenario, server, cells) for every measured scenario, scenario by scenario."""
    # The ceiling last: it is the yardstick, not a scenario.
    scenarios = sorted(_scenarios(report, (*RUNS, "write")), key=lambda label: label == CEILING)
    apollo = report["runs"].get("apollo", {}).get("scenarios", {})
    out: list[tuple[str, str, list[str]]] = []
    for label in scenarios:
        peer = apollo.get(label)
        for run in (*RUNS, "write"):
            r = report["runs"].get(run, {}).get("scenarios", {}).get(label)
            if r is None or (label == CEILING and run != "cold"):
                continue
            ceil = _ceiling(report, run)
            done = bool(r["requests"])  # no latency or per-request figure without one
            cpu = r["cpu_ms_per_req"]
            cells = [
                f"{r['rps']:.1f}",
                _ratio(r["rps"], peer and peer["rps"], ".2f"),
                _ratio(100 * r["rps"], ceil and ceil["rps"], ".1f", "%"),
                *(f"{r[k]:.1f}" if done else "-" for k in ("p50_ms", "p95_ms", "p99_ms")),
                _num(cpu),
                _ratio(cpu, peer and peer["cpu_ms_per_req"], ".2f"),
                _ratio(cpu, ceil and ceil["cpu_ms_per_req"], ".1f"),
                _num(r["db_cpu_ms_per_req"]),
                _num(r["mongo_per_req"]),
                str(r["errors"]),
            ]
            server = "bare Starlette route, same bytes" if label == CEILING else RUN_LABELS[run]
            out.append((label, server, cells))
    return out


def notes(report: dict[str, Any]) -> list[str]:
    out = [
        "cpu ms = the server process's utime+stime per request (/proc/<pid>/stat); db cpu = "
        "the database's; mongo = MongoDB commands per request; the server on core 0, the "
        "database and the load generator on core 1.",
        "rps/apollo, cpu/apollo: against the Apollo Server 5 peer on the same query (no auth, no "
        "rate limit, logging or metrics: bench/peers/apollo); %ceil, cpu/ceil: against the "
        "bare route in the same server run (the cold run's for the peer and the naive run).",
        f"load generator: {report['generator']}; {report['seconds_per_scenario']} s per "
        f"scenario; load average before {_loads(report['load_average'])}, after "
        f"{_loads(report.get('load_average_after'))}.",
    ]
    hit = report.get("hit_cpu")
    if hit:
        out.append(
            f"Operation-cache hit measured in-process (bench/hit_cpu.py, rate limits on): "
            f"{hit['identity_ms']:.3f} ms CPU per hit (gzip {hit['gzip_ms']:.3f} ms), a bare "
            f"ASGI app sending the same {hit['body_bytes']} bytes {hit['bare_ms']:.3f} ms."
        )
    if report.get("fanout_error"):
        out.append(f"Fan-out failed: {report['fanout_error']}.")
    if report.get("fanout_ws_error"):
        out.append(f"Fan-out over WebSockets failed: {report['fanout_ws_error']}.")
    peer = report.get("peers", {}).get("apollo", {})
    if peer.get("skipped"):
        out.append(f"Apollo peer skipped: {peer['skipped']}.")
    elif peer.get("same_json"):
        same = ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in peer["same_json"].items())
        out.append(f"Apollo's JSON equals alawael's (cold run): {same}.")
    return out


def print_table(report: dict[str, Any]) -> None:
    table = rows(report)
    width = max((len(f"{s} / {n}") for s, n, _ in table), default=20)
    head = f"{'scenario / server':<{width}} " + " ".join(f"{c:>11}" for c in COLUMNS)
    print()
    print(head)
    print("-" * len(head))
    last = None
    for scenario, server, cells in table:
        if last is not None and scenario != last:
            print()
        last = scenario
        print(f"{scenario + ' / ' + server:<{width}} " + " ".join(f"{c:>11}" for c in cells))
    print()
    for run in (*RUNS, "write"):
        if run in report["runs"]:
            print(f"server RSS after the {run} run: {report['runs'][run]['rss_mb']:.1f} MB")
    fan = report.get("fanout")
    if fan:
        print(_fanout(fan))
    if report.get("fanout_ws"):
        print(fanout_ws_line(report["fanout_ws"]))
    print()
    for line in notes(report):
        print(line)


def _fanout(fan: dict[str, Any]) -> str:
    line = (
        f"fan-out to {fan['subscribers']} subscribers: p50 {fan['p50_ms']:.1f} ms, "
        f"p95 {fan.get('p95_ms', float('nan')):.1f} ms, "
        f"p99 {fan['p99_ms']:.1f} ms, max {fan['max_ms']:.1f} ms, last subscriber (median) "
        f"{fan['last_subscriber_p50_ms']:.1f} ms"
    )
    if "cpu_ms_per_event_p50" in fan:
        line += (
            f", cpu/event (median) {fan['cpu_ms_per_event_p50']:.1f} ms; after the first event "
            f"p50 {fan['warm_p50_ms']:.1f} ms, p95 {fan['warm_p95_ms']:.1f} ms, "
            f"p99 {fan['warm_p99_ms']:.1f} ms (first event, after "
            f"{fan.get('quiet_seconds', 0):.0f} s quiet: {fan['first_event_ms']:.1f} ms)"
        )
    return line


def markdown(report: dict[str, Any], png_name: str) -> str:
    lines = [
        f"# Bench {report['timestamp']}",
        "",
        f"![req/s and CPU per request]({png_name})",
        "",
        "| scenario | server | " + " | ".join(COLUMNS) + " |",
        "|---|---|" + "---:|" * len(COLUMNS),
    ]
    for scenario, server, cells in rows(report):
        lines.append(f"| {scenario} | {server} | " + " | ".join(cells) + " |")
    lines.append("")
    rss = [
        f"{run} {report['runs'][run]['rss_mb']:.1f} MB"
        for run in (*RUNS, "write")
        if run in report["runs"]
    ]
    lines.append("Server RSS after each run: " + ", ".join(rss) + ".")
    if report.get("fanout"):
        lines += ["", _fanout(report["fanout"]) + "."]
    if report.get("fanout_ws"):
        lines += ["", fanout_ws_line(report["fanout_ws"]) + "."]
    lines += ["", *(f"- {line}" for line in notes(report)), ""]
    return "\n".join(lines)


def plot(report: dict[str, Any], path: Path) -> None:
    """Grouped bars per scenario, one bar per server: req/s on top, CPU per request below
    (log scales: the figures span four orders of magnitude)."""
    from matplotlib.patches import Patch

    scenarios = [s for s in _scenarios(report, RUNS) if s != CEILING]
    servers = [run for run in RUNS if run in report["runs"]]
    ceil = report["runs"].get("cold", {}).get("scenarios", {}).get(CEILING)
    width = 0.8 / max(len(servers), 1)
    with results.figure(path, 2, figsize=(11, 9)) as (fig, (ax_rps, ax_cpu)):
        for ax, key, label in (
            (ax_rps, "rps", "req/s"),
            (ax_cpu, "cpu_ms_per_req", "server CPU ms / request"),
        ):
            top = ceil[key] if ceil else 0.0
            for i, run in enumerate(servers):
                got = report["runs"][run]["scenarios"]
                for j, scenario in enumerate(scenarios):
                    if scenario not in got:
                        continue
                    x, value = j + i * width, got[scenario].get(key)
                    if not value:  # no request completed: nothing to draw on a log scale
                        ax.annotate(
                            "none\nin time",
                            (x, 0),
                            xycoords=("data", "axes fraction"),
                            ha="center",
                            va="bottom",
                            fontsize=7,
                            color=f"C{i}",
                        )
                        continue
                    top = max(top, value)
                    bars = ax.bar([x], [value], width, color=f"C{i}")
                    ax.bar_label(bars, fmt="%.3g", fontsize=7)
            if ceil:
                ax.axhline(ceil[key], color="black", linestyle="--", linewidth=0.8)
                ax.annotate(f"bare route {ceil[key]:g}", (0, ceil[key]), fontsize=8, va="bottom")
            ax.set_yscale("log")
            ax.set_ylim(top=top * 30)  # room for the legend above the tallest bar
            ax.set_ylabel(label)
            ax.set_xticks([j + 0.4 - width / 2 for j in range(len(scenarios))], scenarios)
        # Drawn bar by bar, so the legend is built from the servers' colours.
        handles = [Patch(color=f"C{i}", label=RUN_LABELS[run]) for i, run in enumerate(servers)]
        ax_rps.legend(handles=handles, fontsize=8, ncols=3, loc="upper center")
        fig.suptitle(f"make bench {report['timestamp']} ({report['generator']})")


def _scenarios(report: dict[str, Any], runs: tuple[str, ...]) -> list[str]:
    """Scenario labels in the order the runs measured them."""
    seen: list[str] = []
    for run in runs:
        for label in report["runs"].get(run, {}).get("scenarios", {}):
            if label not in seen:
                seen.append(label)
    return seen


def fanout_ws_line(r: dict[str, Any]) -> str:
    """bench.fanout_ws's figures in one line."""
    return (
        f"fan-out over WebSockets to {r['subscribers']} subscribers ({r['events']} events): "
        f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
        f"max {r['max_ms']:.1f} ms, last socket (median) {r['last_subscriber_p50_ms']:.1f} ms, "
        f"server cpu/event (median) {r['server_cpu_ms_per_event_p50']:.1f} ms; "
        f"after the first event p99 {r['warm_p99_ms']:.1f} ms "
        f"(first event, after 5 s quiet: {r['first_event_ms']:.1f} ms); "
        f"server RSS {r['server_rss_mb']:.1f} MB"
    )
