"""Writing a bench run's results: the JSON report, a markdown table and a matplotlib PNG
under bench/results/, shared by the main bench and the soak so both lay files out alike."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@contextmanager
def figure(
    path: Path, rows: int, *, figsize: tuple[float, float], sharex: bool = False
) -> Iterator[Any]:
    """A matplotlib figure of `rows` stacked axes, saved to `path` on exit. Agg: there is no
    display on a bench machine, only the file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, 1, figsize=figsize, sharex=sharex)
    try:
        yield fig, axes
        fig.tight_layout()
        fig.savefig(path, dpi=90)
    finally:
        plt.close(fig)


def write(
    name: str,
    report: dict[str, Any],
    markdown: str,
    plot: Callable[[dict[str, Any], Path], None],
    *,
    latest: str | None = None,
) -> Path:
    """bench/results/<name>.md, .png and .json; with `latest`, copies of the .md and .png
    under that stable name too (what the README links). Returns the base path."""
    RESULTS.mkdir(exist_ok=True)
    base = RESULTS / name
    base.with_suffix(".md").write_text(markdown)
    base.with_suffix(".json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    plot(report, base.with_suffix(".png"))
    if latest:
        # The markdown names its own PNG; the stable copy must name the stable PNG.
        (RESULTS / f"{latest}.md").write_text(markdown.replace(f"{name}.png", f"{latest}.png"))
        shutil.copyfile(base.with_suffix(".png"), RESULTS / f"{latest}.png")
    return base
