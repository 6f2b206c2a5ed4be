"""Command line: `alawael serve | seed | create-admin | promote-admin | export-schema |
backup | restore | restore-drill`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from alawael.config import Settings, load_settings
from alawael.infra.resources import Resources


def _settings_or_exit(**overrides: object) -> Settings:
    from pydantic import ValidationError

    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        print("Invalid configuration:", file=sys.stderr)
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            print(f"  {where.upper()}: {err['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def _prepare_metrics_dir(workers: int) -> str | None:
    """Several workers share metrics through prometheus-client's multiprocess mode: each
    worker writes mmap files into PROMETHEUS_MULTIPROC_DIR and `/metrics` sums them. The
    variable must be set before the workers import prometheus-client (they inherit it), and
    the directory must start empty, or a previous run's counters would be summed in.
    Returns the directory if we created it (and so remove it on exit)."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        return None
    if workers <= 1:
        return None  # one process: the default in-memory registry
    import tempfile

    path = tempfile.mkdtemp(prefix="alawael-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def _note_stop_signals() -> list[int]:
    """uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, so that the default
    action (death by signal) happens; that would skip our clean-up (the embedded database
    would be left running) and exit with -15. A recording handler makes the re-raise a
    no-op: we clean up and exit 0, as a graceful stop should."""
    import signal

    received: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: received.append(signum))
    return received


def cmd_serve(args: argparse.Namespace) -> int:
    import shutil

    import uvicorn

    from alawael.infra.db import EmbeddedMongo, running_embedded_uri

    settings = _settings_or_exit()
    if args.workers > 1 and not settings.redis_url:
        print(
            "--workers > 1 needs REDIS_URL: cache invalidation, rate limits and subscription "
            "fan-out are shared between workers through Redis.",
            file=sys.stderr,
        )
        return 2
    embedded: EmbeddedMongo | None = None
    if settings.mongodb_uri is None:
        # One embedded server for all workers: WiredTiger locks its directory to one process.
        path = settings.embedded_db_path
        other = running_embedded_uri(path)
        if other is not None:
            print(
                f"Another alawael server is using the embedded database in {path} ({other}): "
                "stop it first, or set EMBEDDED_DB_PATH to another directory.",
                file=sys.stderr,
            )
            return 1
        # advertise: `alawael seed` / `create-admin` run beside the server connect to it.
        embedded = EmbeddedMongo(path, log_file=path.parent / "secantus.log", advertise=True)
        print(f"Starting the embedded database (data in {path}) ...", file=sys.stderr)
        os.environ["MONGODB_URI"] = embedded.start()
        os.environ["EMBEDDED_DB_RUNNING"] = "true"
    metrics_dir = _prepare_metrics_dir(args.workers if not args.reload else 1)
    _note_stop_signals()
    try:
        uvicorn.run(
            "alawael.server:app_factory",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers if not args.reload else None,
            reload=args.reload,
            timeout_graceful_shutdown=30,
            timeout_keep_alive=30,
            log_level=settings.log_level.lower(),
            access_log=False,  # one structured line per request comes from our middleware
            proxy_headers=False,  # X-Forwarded-For is believed only via TRUSTED_PROXIES
        )
    finally:
        if embedded is not None:
            embedded.stop()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _with_resources(fn: Callable[[Resources], Awaitable[int]], *, indexes: bool = True) -> int:
    from alawael.server import open_resources

    settings = _settings_or_exit(jobs_enabled=False, analytics_enabled=False)

    async def run() -> int:
        async with open_resources(settings, cli=True) as res:
            from alawael.infra.indexes import ensure_indexes
            from alawael.services.search_backfill import backfill_search_keys

            if indexes:
                await ensure_indexes(res.db, then=backfill_search_keys)
            return await fn(res)

    return asyncio.run(run())


def cmd_seed(args: argparse.Namespace) -> int:
    from alawael.devtools.seed import seed_database
    from alawael.shared.errors import AppError

    async def run(res: Resources) -> int:
        try:
            await seed_database(
                res,
                seed=args.seed,
                orders=args.orders,
                products=args.products,
                reset=args.reset,
                progress=not args.quiet,
            )
        except AppError as exc:  # e.g. refusing to seed over existing data
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        return 0

    return _with_resources(run)


def cmd_create_admin(args: argparse.Namespace) -> int:
    from alawael.services.users import create_admin
    from alawael.shared.errors import AppError

    async def run(res: Resources) -> int:
        try:
            user = await create_admin(res, email=args.email, password=args.password, name=args.name)
        except AppError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        print(f"admin {user.email} ready")
        return 0

    return _with_resources(run)


def cmd_promote_admin(args: argparse.Namespace) -> int:
    from alawael.services.users import promote_admin
    from alawael.shared.errors import AppError

    async def run(res: Resources) -> int:
        try:
            after, before = await promote_admin(res, args.email, by="cli")
        except AppError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        if before is None:
            print(f"{after.email} already is an active ADMIN; nothing changed")
        else:
            was = "active" if before.active else "deactivated"
            print(f"{after.email} ({after.name}): {was} {before.role} -> active ADMIN")
        return 0

    return _with_resources(run)


def cmd_export_schema(args: argparse.Namespace) -> int:
    from alawael.schema.build import exported_schema

    schema = exported_schema()

    sdl = schema.as_str().rstrip() + "\n"
    if args.check:
        path = Path(args.check)
        current = path.read_text() if path.exists() else ""
        if current != sdl:
            print(
                f"{path} is out of date with the code: run `make schema` and commit it.",
                file=sys.stderr,
            )
            return 1
        return 0
    if args.output:
        Path(args.output).write_text(sdl)
    else:
        sys.stdout.write(sdl)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from alawael.infra.backup.dump import dump_database
    from alawael.infra.backup.layout import backup_id

    async def run(res: Resources) -> int:
        root = res.settings.backup_dir
        out = Path(args.out) if args.out else root / backup_id(datetime.now(UTC))
        db_name = res.settings.mongodb_db
        try:
            manifest = await dump_database(res.client, db_name, out, gz=args.gzip)
        except FileExistsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        documents = sum(c.count for c in manifest.collections)
        print(
            f"backup of {db_name} in {out}: {len(manifest.collections)} collections, "
            f"{documents} documents, {manifest.size_bytes} bytes in "
            f"{manifest.duration_seconds:.2f} s (consistency: {manifest.consistency})"
        )
        return 0

    return _with_resources(run, indexes=False)


def cmd_restore(args: argparse.Namespace) -> int:
    from alawael.devtools.seed import CACHE_SCOPES
    from alawael.infra.backup.restore import RestoreError, restore_backup

    async def run(res: Resources) -> int:
        try:
            report = await restore_backup(
                res.client,
                Path(args.source),
                target_db=args.target_db,
                drop=args.drop,
                verify=args.verify,
            )
        except (RestoreError, OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if report.database == res.settings.mongodb_db:
            await res.cache.bump(*CACHE_SCOPES)  # a running server must not serve old data
        print(
            f"restored {report.collections} collections, {report.documents} documents and "
            f"{report.indexes} indexes into {report.database} in {report.seconds:.2f} s"
        )
        for problem in report.problems:
            print(f"verify: {problem}", file=sys.stderr)
        if report.verified and report.ok:
            print("verified: counts, checksums and indexes match the manifest")
        return 0 if report.ok else 1

    return _with_resources(run, indexes=False)


def cmd_restore_drill(args: argparse.Namespace) -> int:
    from alawael.infra.backup.drill import restore_drill

    async def run(res: Resources) -> int:
        root = Path(args.backup_dir) if args.backup_dir else res.settings.backup_dir
        report = await restore_drill(res.client, root)
        print(f"restore drill of {report.backup or '(no backup)'}")
        if report.backup is not None:
            print(
                f"  into {report.scratch_db} (dropped afterwards): {report.collections} "
                f"collections, {report.documents} documents, {report.indexes} indexes, "
                f"{report.seconds:.2f} s; backup age {report.backup_age_seconds:.0f} s"
            )
        for problem in report.problems:
            print(f"  problem: {problem}", file=sys.stderr)
        print("  result: " + ("OK" if report.ok else "FAILED"))
        return 0 if report.ok else 1

    return _with_resources(run, indexes=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alawael", description="AlAwael ERP API server")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API server (uvicorn)")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "1")))
    serve.add_argument("--reload", action="store_true", help="restart on code changes (dev)")
    serve.set_defaults(func=cmd_serve)

    seed = sub.add_parser("seed", help="load a realistic demo data set")
    seed.add_argument("--seed", type=int, default=42, help="random seed (deterministic)")
    seed.add_argument("--products", type=int, default=200)
    seed.add_argument("--orders", type=int, default=1000)
    seed.add_argument("--reset", action="store_true", help="drop existing data first")
    seed.add_argument("--quiet", action="store_true", help="no progress bar")
    seed.set_defaults(func=cmd_seed)

    admin = sub.add_parser(
        "create-admin", help="create an admin user (an existing account is never changed)"
    )
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", required=True)
    admin.add_argument("--name", default="Administrator")
    admin.set_defaults(func=cmd_create_admin)

    promote = sub.add_parser(
        "promote-admin",
        help="make an existing account an active admin (audited; its password is kept)",
    )
    promote.add_argument("--email", required=True)
    promote.set_defaults(func=cmd_promote_admin)

    export = sub.add_parser("export-schema", help="print the GraphQL SDL")
    export.add_argument("--output", "-o", help="write to this file instead of stdout")
    export.add_argument("--check", metavar="FILE", help="fail if FILE differs from the code")
    export.set_defaults(func=cmd_export_schema)

    backup = sub.add_parser("backup", help="dump every collection (mongodump's layout)")
    backup.add_argument("--out", help="backup directory (default: BACKUP_DIR/<UTC time>)")
    backup.add_argument("--gzip", action="store_true", help="gzip the files (as mongodump)")
    backup.set_defaults(func=cmd_backup)

    restore = sub.add_parser("restore", help="restore a backup, indexes included")
    restore.add_argument("--from", dest="source", required=True, help="a backup directory")
    restore.add_argument("--target-db", help="database to restore into (default: the backup's)")
    restore.add_argument("--drop", action="store_true", help="drop each collection first")
    restore.add_argument(
        "--verify", action="store_true", help="re-read and compare with the manifest"
    )
    restore.set_defaults(func=cmd_restore)

    drill = sub.add_parser(
        "restore-drill", help="restore the latest backup into a scratch database, verify, drop"
    )
    drill.add_argument("--backup-dir", help="where the backups are (default: BACKUP_DIR)")
    drill.set_defaults(func=cmd_restore_drill)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
