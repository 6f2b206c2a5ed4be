"""The caller's notifications: list, unread count, mark one or all read
(alawael.services.notifications)."""

from __future__ import annotations

from alawael.auth.permissions import Permission
from alawael.rest.models import NotificationListQuery, NotificationOut
from alawael.rest.models.notifications import MarkedReadOut, UnreadCountOut
from alawael.rest.routing import Call, Paged, endpoint, page_args
from alawael.services import notifications

TAG = "Notifications"


@endpoint(
    "GET",
    "/api/notifications",
    summary="Your notifications, newest first",
    tag=TAG,
    access=Permission.READ_OWN_NOTIFICATIONS,
    query=NotificationListQuery,
    response=NotificationOut,
    many=True,
)
async def list_notifications(call: Call) -> Paged:
    q = call.query_as(NotificationListQuery)
    page = await notifications.list_notifications(
        call.res, call.actor, unread_only=q.unread, args=page_args(q)
    )
    return Paged([NotificationOut.from_record(item) for item in page.items], page, q.limit)


@endpoint(
    "POST",
    "/api/notifications/{id}/read",
    summary="Mark one of your notifications read",
    tag=TAG,
    access=Permission.READ_OWN_NOTIFICATIONS,
    response=NotificationOut,
    errors=(404,),
    path_params={
        "id": "A Notification id (the global id the API returns, or a raw 24-hex ObjectId)."
    },
)
async def mark_notification_read(call: Call) -> NotificationOut:
    """Idempotent. Anyone else's notification is a 404."""
    doc = await notifications.mark_read(
        call.res, call.actor, call.oid("Notification"), request_id=call.request_id
    )
    return NotificationOut.from_record(doc)


@endpoint(
    "GET",
    "/api/notifications/unread-count",
    summary="How many of your notifications are unread",
    tag=TAG,
    access=Permission.READ_OWN_NOTIFICATIONS,
    response=UnreadCountOut,
)
async def unread_notification_count(call: Call) -> UnreadCountOut:
    """For a badge; the `unreadNotificationCount` GraphQL subscription pushes changes."""
    return UnreadCountOut(count=await notifications.unread_count(call.res, call.actor))


@endpoint(
    "POST",
    "/api/notifications/read-all",
    summary="Mark all your notifications read",
    tag=TAG,
    access=Permission.READ_OWN_NOTIFICATIONS,
    response=MarkedReadOut,
)
async def mark_all_notifications_read(call: Call) -> MarkedReadOut:
    """Idempotent: a second call marks 0."""
    count = await notifications.mark_all_read(call.res, call.actor, request_id=call.request_id)
    return MarkedReadOut(count=count)
