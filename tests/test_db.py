from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pymongo import MongoClient

from alawael.context import Resources
from alawael.infra.db import EMBEDDED_TTL_SWEEP_SECONDS, EmbeddedMongo, embedded_config
from alawael.infra.indexes import INDEXES, ensure_indexes
from tests.support.polling import wait_until


def test_embedded_data_survives_a_restart(tmp_path: Path) -> None:
    server = EmbeddedMongo(tmp_path / "db")
    server.start()
    with MongoClient(server.uri) as c:
        c.erp.things.insert_one({"_id": "kept", "n": 1})
    server.stop()
    assert not server.running

    again = EmbeddedMongo(tmp_path / "db")
    again.start()
    try:
        with MongoClient(again.uri) as c:
            assert c.erp.things.find_one({"_id": "kept"}) == {"_id": "kept", "n": 1}
    finally:
        again.stop()


async def test_indexes_are_created_idempotently(resources: Resources) -> None:
    await ensure_indexes(resources.db, force=True)
    await ensure_indexes(resources.db)  # a second worker starting: one marker read
    for collection, models in INDEXES.items():
        if not models:
            continue
        info = await resources.db[collection].index_information()
        for model in models:
            assert model.document["name"] in info, (collection, model.document["name"])
    users = await resources.db.users.index_information()
    assert users["email_unique"]["unique"] is True
    sessions = await resources.db.sessions.index_information()
    assert sessions["ttl_expire_at"]["expireAfterSeconds"] == 0


async def test_index_marker_skips_work_until_the_index_set_changes(
    resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    import alawael.infra.indexes as db_module

    await ensure_indexes(resources.db)
    await resources.db.products.drop_indexes()
    await ensure_indexes(resources.db)  # same fingerprint: trusted, nothing recreated
    assert "sku_unique" not in await resources.db.products.index_information()
    monkeypatch.setattr(db_module, "INDEX_FINGERPRINT", "changed")
    await ensure_indexes(resources.db)
    assert "sku_unique" in await resources.db.products.index_information()


async def test_a_restored_index_marker_is_not_trusted(resources: Resources) -> None:
    """A backup holds the `meta` marker; restored over re-created collections without their
    indexes (say `mongorestore --noIndexRestore`), it must not make a start skip creating
    them: the marker names the UUIDs of the collections it vouched for."""
    await ensure_indexes(resources.db)
    marker = await resources.db.meta.find_one({"_id": "indexes"})
    assert marker is not None
    await resources.db.sessions.drop()  # a restore re-creates the collection...
    await resources.db.sessions.insert_one({"_id": "s", "expireAt": datetime.now(UTC)})
    await resources.db.meta.replace_one({"_id": "indexes"}, marker)  # ...and the marker
    await ensure_indexes(resources.db)
    sessions = await resources.db.sessions.index_information()
    assert sessions["ttl_expire_at"]["expireAfterSeconds"] == 0


def test_embedded_config_turns_the_ttl_sweeper_off() -> None:
    """SecantusDB's sweeper stalls every query once a minute (it decodes every document of
    every TTL collection under its storage lock); our database runs without it."""
    from secantus.config import load_config

    assert EMBEDDED_TTL_SWEEP_SECONDS <= 0
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(embedded_config())
    try:
        config, _ = load_config(Path(f.name))  # secantus' own parser: the keys must exist
    finally:
        os.unlink(f.name)
    assert config.ttl_sweep_seconds <= 0


def test_embedded_database_runs_with_our_config_file(tmp_path: Path) -> None:
    """The generated file reaches the server: proven with a sweeper interval short enough
    to see act (the built-in 60 s would not within the deadline), and passed explicitly,
    so a secantusd.toml lying in the working directory is never picked up instead."""
    server = EmbeddedMongo(tmp_path / "db", ttl_sweep_seconds=0.2)
    server.start()
    try:
        assert server._proc is not None
        argv = Path(f"/proc/{server._proc.pid}/cmdline").read_bytes().split(b"\0")
        assert b"--config" in argv
        with MongoClient(server.uri, tz_aware=True) as c:
            c.erp.things.create_index("expireAt", expireAfterSeconds=0)
            c.erp.things.insert_one({"_id": "old", "expireAt": datetime.now(UTC) - timedelta(1)})
            wait_until(
                lambda: c.erp.things.find_one({"_id": "old"}) is None,
                within=20,
                what="the configured sweeper expired the document",
            )
    finally:
        server.stop()
