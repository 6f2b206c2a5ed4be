"""Pydantic models of the REST shim: request bodies and query strings in, resources out.

Their JSON Schemas are the OpenAPI document's (alawael.rest.openapi), so what is validated
and what is documented cannot drift. Representations match GraphQL exactly: Relay global
ids, money as decimal strings ("12.50"), datetimes as ISO 8601 in UTC, camelCase names.

- Bodies are strict: unknown fields are refused and nothing is coerced (a number where a
  money string belongs is a 422, never silently converted).
- Query strings are text by nature, so their models are lax (``limit=20`` is an int) but
  still refuse unknown parameters.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from alawael.auth.permissions import Actor, Role
from alawael.infra.db import Document
from alawael.records.defaults import DEFAULT_CURRENCY, DEFAULT_LOW_STOCK_THRESHOLD
from alawael.records.flags import FlagRecord
from alawael.records.notifications import NotificationRecord, NotificationType
from alawael.records.orders import OrderRecord, OrderStatus
from alawael.records.products import ProductRecord
from alawael.records.users import UserRecord
from alawael.services.analytics import Granularity
from alawael.services.orders import MAX_LINES, MAX_QUANTITY, may_see_editor
from alawael.services.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from alawael.services.search import HELP as SEARCH_HELP
from alawael.shared.ids import to_global_id
from alawael.shared.jsonable import jsonable
from alawael.shared.locale import Locale
from alawael.shared.money import cents_to_decimal

# --- shared types ----------------------------------------------------------------------

# At most 9,999,999.99: within the services' price bound, so schema-valid money is valid.
MONEY_PATTERN = r"^[0-9]{1,7}(\.[0-9]{1,2})?$"
# A decimal string with at most 2 decimals (the GraphQL Money scalar's input rule).
MoneyIn = Annotated[
    str,
    StringConstraints(pattern=MONEY_PATTERN),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": MONEY_PATTERN,
            "examples": ["12.50"],
            "description": "A decimal amount as a string, at most 2 decimals.",
        }
    ),
]
MoneyOut = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?[0-9]+\.[0-9]{2}$",
            "examples": ["12.50"],
            "description": "A decimal amount as a string with 2 decimals.",
        }
    ),
]


def _as_utc(value: datetime) -> datetime:
    # Naive datetimes are UTC (the API's only time zone), as in the GraphQL schema.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime) -> str:
    """isoformat(), as strawberry's DateTime prints. Services write millisecond times
    (alawael.infra.clock), so a write's response shows the same instant as later reads."""
    return value.isoformat()


Timestamp = Annotated[
    datetime,
    PlainSerializer(_iso, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
TimestampIn = Annotated[datetime, AfterValidator(_as_utc)]
GlobalId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def money(cents: int) -> str:
    """Integer minor units -> "12.50", the GraphQL Money scalar's serialization."""
    return f"{cents_to_decimal(cents):.2f}"


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, frozen=True)


class Body(BaseModel):
    """A JSON request body: strict types, no unknown fields, camelCase names."""

    model_config = ConfigDict(
        alias_generator=to_camel, extra="forbid", strict=True, validate_by_name=False
    )


class Query(BaseModel):
    """A query string: lax types (it is all text), but no unknown parameters."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", validate_by_name=False)


class PageQuery(Query):
    limit: int = Field(
        default=DEFAULT_PAGE_SIZE,
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"Page size, 1-{MAX_PAGE_SIZE}.",
    )
    cursor: str | None = Field(
        default=None,
        max_length=500,
        description="`meta.nextCursor` of the previous page; omit for the first page.",
    )


class PageMeta(_Out):
    """Keyset pagination: pass `nextCursor` back as `cursor` for the next page."""

    limit: int
    has_more: bool
    next_cursor: str | None = Field(description="Null on the last page.")


class ErrorDetail(_Out):
    code: str = Field(description="Stable, machine-readable (e.g. BAD_USER_INPUT, NOT_FOUND).")
    message: str = Field(description="For humans.")
    details: dict[str, Any] | None = Field(
        default=None,
        description="`field` (the input field at fault), `fields` (every invalid field: "
        "`field`, `message`, `type`), `retryAfter` (seconds), `requestId` (on 500s).",
    )


class ErrorBody(_Out):
    error: ErrorDetail


# --- auth ------------------------------------------------------------------------------


class RegisterBody(Body):
    email: str = Field(max_length=254)
    password: str = Field(
        max_length=1024, description="At least 10 characters, not containing the email."
    )
    name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=40)


class LoginBody(Body):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class RefreshBody(Body):
    refresh_token: str = Field(max_length=512, description="Single-use; rotated on each call.")


class UserOut(_Out):
    id: str
    email: str
    name: str
    phone: str | None
    role: Role
    active: bool
    created_at: Timestamp
    locale: Locale = Field(description="Language of the mails sent to this user.")

    @classmethod
    def from_record(cls, u: UserRecord) -> UserOut:
        return cls(
            id=to_global_id("User", u.id),
            email=u.email,
            name=u.name,
            phone=u.phone,
            role=u.role,
            active=u.active,
            created_at=u.created_at,
            locale=u.locale,
        )


class TokensOut(_Out):
    user: UserOut
    access_token: str = Field(description="Send as `Authorization: Bearer <accessToken>`.")
    refresh_token: str = Field(description="Opaque and single-use.")
    token_type: str = "Bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")


class LogoutOut(_Out):
    revoked: bool


# --- users -----------------------------------------------------------------------------


class UserListQuery(PageQuery):
    role: Role | None = None
    search: str | None = Field(
        default=None, max_length=100, description=SEARCH_HELP.format(fields="name or email")
    )
    active: bool | None = None


# --- products --------------------------------------------------------------------------

ProductSort = Literal[
    "createdAt", "-createdAt", "price", "-price", "name", "-name", "stock", "-stock"
]


class ProductListQuery(PageQuery):
    category: str | None = Field(default=None, max_length=100)
    q: str | None = Field(
        default=None,
        max_length=100,
        description=SEARCH_HELP.format(fields="name, sku, category or description"),
    )
    min_price: MoneyIn | None = None
    max_price: MoneyIn | None = None
    in_stock: bool | None = None
    archived: bool | None = Field(
        default=None, description="Managers only: true lists archived products instead."
    )
    sort: ProductSort = Field(
        default="-createdAt", description="A field; a leading `-` sorts descending."
    )


# The services' rules, stated in the schema too, so generated clients (and schemathesis)
# know what a valid sku and name are.
SKU_PATTERN = r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*$"
NAME_PATTERN = r"\S"


class ProductCreateBody(Body):
    sku: str = Field(max_length=64, pattern=SKU_PATTERN, description="Unique; stored upper-cased.")
    name: str = Field(max_length=200, pattern=NAME_PATTERN)
    price: MoneyIn
    description: str = Field(default="", max_length=5000)
    category: str = Field(default="", max_length=100)
    currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    stock: int = Field(default=0, ge=0, le=1_000_000)
    low_stock_threshold: int = Field(default=DEFAULT_LOW_STOCK_THRESHOLD, ge=0, le=1_000_000)


class ProductUpdateBody(Body):
    """Omitted fields stay as they are. Stock changes go through stock adjustments."""

    sku: str | None = Field(default=None, max_length=64, pattern=SKU_PATTERN)
    name: str | None = Field(default=None, max_length=200, pattern=NAME_PATTERN)
    price: MoneyIn | None = None
    description: str | None = Field(default=None, max_length=5000)
    category: str | None = Field(default=None, max_length=100)
    currency: str | None = Field(default=None, max_length=3)
    low_stock_threshold: int | None = Field(default=None, ge=0, le=1_000_000)


class ProductOut(_Out):
    id: str
    sku: str
    name: str
    description: str
    category: str
    price: MoneyOut
    currency: str
    stock: int
    low_stock_threshold: int
    archived: bool
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def from_record(cls, p: ProductRecord) -> ProductOut:
        return cls(
            id=to_global_id("Product", p.id),
            sku=p.sku,
            name=p.name,
            description=p.description,
            category=p.category,
            price=money(p.price_cents),
            currency=p.currency,
            stock=p.stock,
            low_stock_threshold=p.low_stock_threshold,
            archived=p.archived,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


# --- orders ----------------------------------------------------------------------------


class OrderListQuery(PageQuery):
    status: OrderStatus | None = None
    from_: TimestampIn | None = Field(default=None, alias="from", description="Inclusive.")
    to: TimestampIn | None = Field(default=None, description="Exclusive.")
    user_id: GlobalId | None = Field(
        default=None, description="Staff only; customers always get their own orders."
    )
    search: str | None = Field(
        default=None,
        max_length=100,
        description=SEARCH_HELP.format(fields="the order number or the customer's name"),
    )


class OrderLineBody(Body):
    product_id: GlobalId
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class PlaceOrderBody(Body):
    items: list[OrderLineBody] = Field(
        min_length=1, max_length=MAX_LINES, description="Repeated products are merged."
    )
    note: str | None = Field(default=None, max_length=1000)


class OrderStatusBody(Body):
    status: OrderStatus
    note: str | None = Field(default=None, max_length=1000)


class CancelOrderBody(Body):
    reason: str | None = Field(default=None, max_length=1000)


class OrderItemOut(_Out):
    product_id: str
    sku: str
    name: str
    unit_price: MoneyOut
    quantity: int
    line_total: MoneyOut


class StatusChangeOut(_Out):
    status: OrderStatus
    at: Timestamp
    note: str | None
    by_user_id: str | None


class OrderOut(_Out):
    id: str
    number: str
    customer_id: str
    items: list[OrderItemOut]
    subtotal: MoneyOut
    total: MoneyOut
    currency: str
    status: OrderStatus
    status_history: list[StatusChangeOut]
    note: str | None
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def from_record(cls, o: OrderRecord, viewer: Actor | None) -> OrderOut:
        """`viewer`: who asks. Whether they may see who changed the status is the orders
        service's rule (`may_see_editor`), the same one the GraphQL field applies."""
        return cls(
            id=to_global_id("Order", o.id),
            number=o.number,
            customer_id=to_global_id("User", o.user_id),
            items=[
                OrderItemOut(
                    product_id=to_global_id("Product", item.product_id),
                    sku=item.sku,
                    name=item.name,
                    unit_price=money(item.unit_price_cents),
                    quantity=item.quantity,
                    line_total=money(item.line_total_cents),
                )
                for item in o.items
            ],
            subtotal=money(o.subtotal_cents),
            total=money(o.total_cents),
            currency=o.currency,
            status=o.status,
            status_history=[
                StatusChangeOut(
                    status=h.status,
                    at=h.at,
                    note=h.note,
                    by_user_id=to_global_id("User", h.by_user_id)
                    if h.by_user_id is not None and may_see_editor(viewer, h.by_user_id)
                    else None,
                )
                for h in o.status_history
            ],
            note=o.note,
            created_at=o.created_at,
            updated_at=o.updated_at,
        )


# --- notifications ---------------------------------------------------------------------


class NotificationListQuery(PageQuery):
    unread: bool = Field(default=False, description="true: unread notifications only.")


class NotificationOut(_Out):
    id: str
    type: NotificationType
    title: str
    body: str
    data: dict[str, Any] = Field(description="Ids (as global ids) and small values.")
    read: bool
    read_at: Timestamp | None
    created_at: Timestamp

    @classmethod
    def from_record(cls, n: NotificationRecord) -> NotificationOut:
        return cls(
            id=to_global_id("Notification", n.id),
            type=n.type,
            title=n.title,
            body=n.body,
            data=jsonable(n.data),
            read=n.read,
            read_at=n.read_at,
            created_at=n.created_at,
        )


# --- analytics -------------------------------------------------------------------------


class SummaryQuery(Query):
    from_: TimestampIn | None = Field(
        default=None, alias="from", description="Inclusive; default: 30 days before `to`."
    )
    to: TimestampIn | None = Field(default=None, description="Exclusive; default: now.")
    granularity: Granularity = Granularity.DAY


class StatusCountOut(_Out):
    status: str
    count: int


class TopProductOut(_Out):
    product_id: str
    sku: str
    name: str
    quantity: int
    revenue: MoneyOut


class SalesPointOut(_Out):
    period_start: Timestamp
    revenue: MoneyOut
    order_count: int


class SalesSummaryOut(_Out):
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    granularity: Granularity
    revenue: MoneyOut = Field(description="Sum of order totals, cancelled orders excluded.")
    order_count: int
    average_order_value: MoneyOut
    orders_by_status: list[StatusCountOut]
    top_products: list[TopProductOut] = Field(description="Top 10 by revenue.")
    series: list[SalesPointOut] = Field(description="One point per period; empty ones are 0.")

    @classmethod
    def from_doc(cls, doc: Document) -> SalesSummaryOut:
        return cls(
            from_=doc["from"],
            to=doc["to"],
            granularity=Granularity(doc["granularity"]),
            revenue=money(doc["revenueCents"]),
            order_count=doc["orderCount"],
            average_order_value=money(doc["averageOrderValueCents"]),
            orders_by_status=[StatusCountOut(**row) for row in doc["ordersByStatus"]],
            top_products=[
                TopProductOut(
                    product_id=to_global_id("Product", row["productId"]),
                    sku=row["sku"],
                    name=row["name"],
                    quantity=row["quantity"],
                    revenue=money(row["revenueCents"]),
                )
                for row in doc["topProducts"]
            ],
            series=[
                SalesPointOut(
                    period_start=row["periodStart"],
                    revenue=money(row["revenueCents"]),
                    order_count=row["orderCount"],
                )
                for row in doc["series"]
            ],
        )


# --- feature flags ---------------------------------------------------------------------


class FlagBody(Body):
    """The whole definition (PUT replaces it); the key is in the path."""

    description: str = Field(default="", max_length=500)
    enabled: bool = False
    rollout_percentage: int = Field(default=100, ge=0, le=100)
    allowed_roles: list[Role] = Field(default_factory=list, max_length=4)
    allowed_user_ids: list[GlobalId] = Field(default_factory=list, max_length=1000)


class FlagDefinitionOut(_Out):
    id: str
    key: str
    description: str
    enabled: bool = Field(description="The master switch.")
    rollout_percentage: int
    allowed_roles: list[Role]
    allowed_user_ids: list[str]
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def from_record(cls, f: FlagRecord) -> FlagDefinitionOut:
        return cls(
            id=to_global_id("FeatureFlag", f.id),
            key=f.key,
            description=f.description,
            enabled=f.enabled,
            rollout_percentage=f.rollout_percentage,
            allowed_roles=list(f.allowed_roles),
            allowed_user_ids=[to_global_id("User", oid) for oid in f.allowed_user_ids],
            created_at=f.created_at,
            updated_at=f.updated_at,
        )


class FlagOut(_Out):
    key: str
    enabled: bool = Field(description="Whether the flag is on for the caller.")
    definition: FlagDefinitionOut | None = Field(
        default=None, description="The full definition; admins (flags:manage) only."
    )


# --- health (documentation only: alawael.rest.health builds these bodies) ---------------


class HealthOut(_Out):
    status: Literal["ok", "degraded"]
    version: str
    environment: str
    uptime: float = Field(description="Seconds since the worker started.")
    mongodb: str = Field(description='"ok", "embedded", or "error: <reason>".')
    redis: str = Field(description='"ok", "disabled", or "error: <reason>".')


class LiveOut(_Out):
    status: Literal["ok"]


class ReadyOut(_Out):
    status: Literal["ready", "unavailable"]
    mongodb: str
    redis: str
