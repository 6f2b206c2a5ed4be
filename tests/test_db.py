from __future__ import annotations

from pathlib import Path

import pytest
from pymongo import MongoClient

from alawael.context import Resources
from alawael.db import INDEXES, EmbeddedMongo, ensure_indexes


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
    import alawael.db as db_module

    await ensure_indexes(resources.db)
    await resources.db.products.drop_indexes()
    await ensure_indexes(resources.db)  # same fingerprint: trusted, nothing recreated
    assert "sku_unique" not in await resources.db.products.index_information()
    monkeypatch.setattr(db_module, "INDEX_FINGERPRINT", "changed")
    await ensure_indexes(resources.db)
    assert "sku_unique" in await resources.db.products.index_information()
