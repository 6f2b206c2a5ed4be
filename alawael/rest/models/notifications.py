"""REST models of notifications."""

from __future__ import annotations

from typing import Any

from pydantic import (
    Field,
)

from alawael.records.notifications import NotificationRecord, NotificationType
from alawael.rest.models.common import (
    Out,
    PageQuery,
    Timestamp,
)
from alawael.shared.ids import to_global_id
from alawael.shared.jsonable import jsonable

# --- notifications ---------------------------------------------------------------------


class NotificationListQuery(PageQuery):
    unread: bool = Field(default=False, description="true: unread notifications only.")


class NotificationOut(Out):
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


class UnreadCountOut(Out):
    count: int = Field(description="Your unread notifications.")


class MarkedReadOut(Out):
    count: int = Field(description="How many were unread and are now read.")
