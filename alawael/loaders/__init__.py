"""DataLoaders, built once per request: one `$in` query per batch, results in key order.

`Loaders` is the per-request bag; each domain adds a lazily-built loader property here, so
a request pays only for the loaders it uses.
"""

from __future__ import annotations

from functools import cached_property

from alawael.db import Db
from alawael.loaders.users import UserByIdLoader


class Loaders:
    def __init__(self, db: Db) -> None:
        self.db = db

    @cached_property
    def user_by_id(self) -> UserByIdLoader:
        return UserByIdLoader(self.db)
