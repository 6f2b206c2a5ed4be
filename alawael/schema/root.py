"""The root Query, Mutation and Subscription, merged from the per-domain types.

Each domain module defines `<Domain>Query` / `<Domain>Mutation` / `<Domain>Subscription`
and is listed here once.
"""

from __future__ import annotations

from strawberry.tools import merge_types

from alawael.schema.accounts import AccountsMutation, AccountsQuery
from alawael.schema.analytics import AnalyticsQuery
from alawael.schema.audit import AuditQuery
from alawael.schema.flags import FlagsMutation, FlagsQuery
from alawael.schema.notifications import NotificationMutation, NotificationQuery
from alawael.schema.orders import OrderMutation, OrderQuery
from alawael.schema.products import ProductMutation, ProductQuery
from alawael.schema.relay import RelayQuery
from alawael.schema.self_service import SelfServiceMutation
from alawael.schema.subscriptions import RealtimeSubscription
from alawael.schema.system import SystemQuery

QUERIES: tuple[type, ...] = (SystemQuery, AccountsQuery, FlagsQuery, AnalyticsQuery)
QUERIES += (ProductQuery, OrderQuery, NotificationQuery, AuditQuery, RelayQuery)
MUTATIONS: tuple[type, ...] = (AccountsMutation, FlagsMutation)
MUTATIONS += (ProductMutation, OrderMutation, NotificationMutation)
MUTATIONS += (SelfServiceMutation,)
SUBSCRIPTIONS: tuple[type, ...] = (RealtimeSubscription,)

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS) if MUTATIONS else None
Subscription = merge_types("Subscription", SUBSCRIPTIONS) if SUBSCRIPTIONS else None
