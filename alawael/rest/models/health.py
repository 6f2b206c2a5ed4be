"""REST models of the health endpoints (documentation only: alawael.rest.health builds
these bodies)."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
)

from alawael.rest.models.common import (
    Out,
)

# --- health (documentation only: alawael.rest.health builds these bodies) ---------------


class HealthOut(Out):
    status: Literal["ok", "degraded"]
    version: str
    environment: str
    uptime: float = Field(description="Seconds since the worker started.")
    mongodb: str = Field(description='"ok", "embedded", or "error: <reason>".')
    redis: str = Field(description='"ok", "disabled", or "error: <reason>".')


class LiveOut(Out):
    status: Literal["ok"]


class ReadyOut(Out):
    status: Literal["ready", "unavailable"]
    mongodb: str
    redis: str
