"""The layering holds at run time: importing the REST door (or the jobs, or the core) loads
neither Strawberry nor the GraphQL door, and importing the GraphQL package builds no schema."""

from __future__ import annotations

import subprocess
import sys

import pytest

_PROBE = """
import sys, importlib
importlib.import_module({module!r})
loaded = sorted(
    name for name in sys.modules
    if name.split(".")[0] in ("strawberry", "graphql")
    or name.startswith(("alawael.schema", "alawael.resolvers", "alawael.loaders"))
)
print(" ".join(loaded))
"""


@pytest.mark.parametrize(
    "module",
    ["alawael.rest.routes", "alawael.jobs", "alawael.infra.metrics", "alawael.services.orders"],
)
def test_module_loads_no_graphql(module: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == []


def test_importing_a_schema_module_builds_no_schema() -> None:
    probe = (
        "import alawael.schema.node, sys; "
        "print('alawael.schema.root' in sys.modules, 'alawael.schema.build' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "False"]
