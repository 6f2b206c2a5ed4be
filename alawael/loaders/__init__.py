"""DataLoaders, built once per request: one `$in` query per batch, results in key order.

`Loaders` is the per-request bag; each domain adds a lazily-built loader property here.
"""

from __future__ import annotations

from functools import cached_property

from alawael.db import Db


class Loaders:
    def __init__(self, db: Db) -> None:
        self.db = db

    @cached_property
    def _placeholder(self) -> None:  # removed once the first domain loader lands
        return None
