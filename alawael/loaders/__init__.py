"""DataLoaders, built once per request: one `$in` query per batch, results in key order.

`Loaders` is the per-request bag; each domain adds a lazily-built loader property here, so
a request pays only for the loaders it uses.
"""

from __future__ import annotations

from functools import cached_property

from alawael.infra.db import Db
from alawael.loaders.flags import FeatureFlagByIdLoader
from alawael.loaders.notifications import NotificationByIdLoader
from alawael.loaders.orders import OrderByIdLoader
from alawael.loaders.products import ProductByIdLoader
from alawael.loaders.users import UserByIdLoader


class Loaders:
    def __init__(self, db: Db) -> None:
        self.db = db

    @cached_property
    def user_by_id(self) -> UserByIdLoader:
        return UserByIdLoader(self.db)

    @cached_property
    def feature_flag_by_id(self) -> FeatureFlagByIdLoader:
        return FeatureFlagByIdLoader(self.db)

    @cached_property
    def product_by_id(self) -> ProductByIdLoader:
        return ProductByIdLoader(self.db)

    @cached_property
    def order_by_id(self) -> OrderByIdLoader:
        return OrderByIdLoader(self.db)

    @cached_property
    def notification_by_id(self) -> NotificationByIdLoader:
        return NotificationByIdLoader(self.db)
