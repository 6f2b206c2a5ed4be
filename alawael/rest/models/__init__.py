"""Pydantic models of the REST shim: request bodies and query strings in, resources out.

Their JSON Schemas are the OpenAPI document's (alawael.rest.openapi), so what is validated
and what is documented cannot drift. Representations match GraphQL exactly: Relay global
ids, money as decimal strings ("12.50"), datetimes as ISO 8601 in UTC, camelCase names.

- Bodies are strict: unknown fields are refused and nothing is coerced (a number where a
  money string belongs is a 422, never silently converted).
- Query strings are text by nature, so their models are lax (``limit=20`` is an int) but
  still refuse unknown parameters.
"""

from alawael.rest.models.accounts import (
    LoginBody,
    LogoutOut,
    RefreshBody,
    RegisterBody,
    TokensOut,
    UserListQuery,
    UserOut,
)
from alawael.rest.models.analytics import (
    SalesPointOut,
    SalesSummaryOut,
    StatusCountOut,
    SummaryQuery,
    TopProductOut,
)
from alawael.rest.models.catalogue import (
    NAME_PATTERN,
    SKU_PATTERN,
    ProductCreateBody,
    ProductListQuery,
    ProductOut,
    ProductSort,
    ProductUpdateBody,
)
from alawael.rest.models.common import (
    MONEY_PATTERN,
    Body,
    ErrorBody,
    ErrorDetail,
    GlobalId,
    MoneyIn,
    MoneyOut,
    Out,
    PageMeta,
    PageQuery,
    Query,
    Timestamp,
    TimestampIn,
    money,
)
from alawael.rest.models.flags import (
    FlagBody,
    FlagDefinitionOut,
    FlagOut,
)
from alawael.rest.models.health import (
    HealthOut,
    LiveOut,
    ReadyOut,
)
from alawael.rest.models.notifications import (
    NotificationListQuery,
    NotificationOut,
)
from alawael.rest.models.orders import (
    CancelOrderBody,
    OrderItemOut,
    OrderLineBody,
    OrderListQuery,
    OrderOut,
    OrderStatusBody,
    PlaceOrderBody,
    StatusChangeOut,
)

__all__ = [
    "MONEY_PATTERN",
    "NAME_PATTERN",
    "SKU_PATTERN",
    "Body",
    "CancelOrderBody",
    "ErrorBody",
    "ErrorDetail",
    "FlagBody",
    "FlagDefinitionOut",
    "FlagOut",
    "GlobalId",
    "HealthOut",
    "LiveOut",
    "LoginBody",
    "LogoutOut",
    "MoneyIn",
    "MoneyOut",
    "NotificationListQuery",
    "NotificationOut",
    "OrderItemOut",
    "OrderLineBody",
    "OrderListQuery",
    "OrderOut",
    "OrderStatusBody",
    "Out",
    "PageMeta",
    "PageQuery",
    "PlaceOrderBody",
    "ProductCreateBody",
    "ProductListQuery",
    "ProductOut",
    "ProductSort",
    "ProductUpdateBody",
    "Query",
    "ReadyOut",
    "RefreshBody",
    "RegisterBody",
    "SalesPointOut",
    "SalesSummaryOut",
    "StatusChangeOut",
    "StatusCountOut",
    "SummaryQuery",
    "Timestamp",
    "TimestampIn",
    "TokensOut",
    "TopProductOut",
    "UserListQuery",
    "UserOut",
    "money",
]
