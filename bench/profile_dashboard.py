"""Profile the cold dashboard query in-process (pyinstrument), the cache off.

    python -m bench.profile_dashboard [--repeat 20] [--html out.html]

Seeds an embedded database (the `alawael seed` data set), then runs the dashboard query
through the whole ASGI app (httpx ASGITransport) as the seeded admin, and prints the
profile of the repeated requests plus the wall time per request.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx
from pyinstrument import Profiler

from alawael.auth.permissions import Role
from alawael.auth.sessions import create_session
from alawael.auth.tokens import issue_access_token
from alawael.config import Settings
from alawael.devtools.seed import seed_database
from alawael.infra.db import EmbeddedMongo
from alawael.server import create_app
from bench.dashboard import DASHBOARD, body


async def run(uri: str, repeat: int) -> str:
    settings = Settings(
        env="production",
        jwt_secret="x" * 48,
        mongodb_uri=uri,
        mongodb_db="profile",
        cache_enabled=False,
        rate_limit_enabled=False,
        jobs_enabled=False,
        analytics_enabled=False,
        log_level="WARNING",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        res = app.state.resources
        await seed_database(res, progress=False, echo=False, reset=True)
        admin = await res.db.users.find_one({"role": Role.ADMIN.value})
        session, _ = await create_session(res, admin["_id"], user_agent="profile", ip=None)
        token = issue_access_token(
            settings, user_id=str(admin["_id"]), role=Role.ADMIN, session_id=str(session["_id"])
        )
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        payload = body(DASHBOARD)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for _ in range(3):  # warm-up: imports, caches of parsed documents
                r = await client.post("/graphql", content=payload, headers=headers)
                assert "errors" not in r.json(), r.text[:500]
            profiler = Profiler(async_mode="enabled")
            start = time.perf_counter()
            cpu = time.process_time()
            profiler.start()
            for _ in range(repeat):
                await client.post("/graphql", content=payload, headers=headers)
            profiler.stop()
            wall = (time.perf_counter() - start) / repeat
            cpu_ms = 1000 * (time.process_time() - cpu) / repeat
        print(profiler.output_text(unicode=False, color=False, show_all=False))
        print(f"{repeat} sequential requests: {1000 * wall:.1f} ms wall, {cpu_ms:.1f} ms CPU each")
        return str(profiler.output_html())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--html")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = EmbeddedMongo(Path(tmp) / "db")
        uri = db.start()
        try:
            html = asyncio.run(run(uri, args.repeat))
            if args.html:
                Path(args.html).write_text(html)
        finally:
            db.stop()


if __name__ == "__main__":
    main()
