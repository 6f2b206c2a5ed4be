"""The demo data set's generator state and its small sets: flags, API usage, audit entries,
and the primitives (ids, times, users, notifications) the big sets are built from."""

from __future__ import annotations

import math
import random
import struct
from datetime import datetime, timedelta

from bson import ObjectId

from alawael.auth.permissions import Role
from alawael.devtools.seed.data import (
    ENDPOINTS,
    FLAGS,
)
from alawael.infra.db import Document


class BuilderBase:
    """One random generator and the documents built so far; no I/O."""

    def __init__(self, seed: int, now: datetime, password_hash: str) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.password_hash = password_hash
        self.users: list[Document] = []
        self.users_by_id: dict[ObjectId, Document] = {}
        self.products: list[Document] = []
        self.orders: list[Document] = []
        self.notifications: list[Document] = []
        self.flags: list[Document] = []
        self.analytics: list[Document] = []
        self.audit: list[Document] = []

    def oid(self, at: datetime) -> ObjectId:
        # A real ObjectId layout: the creation time, then 8 bytes from the seeded generator.
        return ObjectId(struct.pack(">I", int(at.timestamp())) + self.rng.randbytes(8))

    def ago(self, low: timedelta, high: timedelta) -> datetime:
        seconds = self.rng.uniform(low.total_seconds(), high.total_seconds())
        return (self.now - timedelta(seconds=seconds)).replace(microsecond=0)

    def by_role(self, *roles: Role) -> list[Document]:
        return [u for u in self.users if u["role"] in {r.value for r in roles}]

    def user(self, email: str, name: str, role: Role, created: datetime) -> Document:
        doc: Document = {
            "_id": self.oid(created),
            "email": email,
            "name": name,
            "phone": "+9665" + "".join(str(self.rng.randrange(10)) for _ in range(8)),
            "role": role.value,
            "active": True,
            "passwordHash": self.password_hash,
            "createdAt": created,
            "updatedAt": created,
        }
        self.users.append(doc)
        self.users_by_id[doc["_id"]] = doc
        return doc

    def notification(
        self,
        user_id: ObjectId,
        kind: str,
        title: str,
        body: str,
        data: Document,
        at: datetime,
    ) -> None:
        # Older than three days: read, as people do; recent ones mostly still unread.
        read = self.now - at > timedelta(days=3) or self.rng.random() < 0.25
        read_at = min(self.now, at + timedelta(hours=self.rng.uniform(0.1, 48))) if read else None
        self.notifications.append(
            {
                "_id": self.oid(at),
                "userId": user_id,
                "type": kind,
                "title": title,
                "body": body,
                "data": data,
                "read": read,
                "readAt": read_at,
                "createdAt": at,
            }
        )

    def build_flags(self) -> None:
        admin = self.by_role(Role.ADMIN)[0]
        pilots = [u["_id"] for u in self.by_role(Role.CUSTOMER)]
        for key, description, enabled, rollout, roles, pilot_count in FLAGS:
            created = self.ago(timedelta(days=10), timedelta(days=60))
            doc: Document = {
                "_id": self.oid(created),
                "key": key,
                "description": description,
                "enabled": enabled,
                "rolloutPercentage": rollout,
                "allowedRoles": list(roles),
                "allowedUserIds": pilots[:pilot_count],
                "createdAt": created,
                "updatedAt": created,
            }
            self.flags.append(doc)
            self.audit_entry(admin, "setFeatureFlag", "featureFlag", doc, None, doc, created)

    def build_analytics(self, count: int) -> None:
        weights = [share for _, _, share, _, _ in ENDPOINTS]
        users = [u["_id"] for u in self.users]
        for _ in range(count):
            endpoint, method, _, median, client_errors = self.rng.choices(ENDPOINTS, weights)[0]
            roll = self.rng.random()
            status = (
                500
                if roll < 0.004
                else (self.rng.choice((400, 401, 404)) if roll < 0.004 + client_errors else 200)
            )
            at = self.ago(timedelta(0), timedelta(days=7))
            self.analytics.append(
                {
                    "_id": self.oid(at),
                    "apiEndpoint": endpoint,
                    "method": method,
                    "userId": self.rng.choice(users) if self.rng.random() < 0.8 else None,
                    "status": status,
                    # Latencies are log-normal: most calls near the median, a long tail.
                    "durationMs": round(median * math.exp(self.rng.gauss(0, 0.6)), 3),
                    "timestamp": at,
                }
            )

    def audit_entry(
        self,
        actor: Document,
        action: str,
        entity: str,
        target: Document,
        before: Document | None,
        after: Document | None,
        at: datetime,
    ) -> None:
        self.audit.append(
            {
                "_id": self.oid(at),
                "userId": actor["_id"],
                "role": actor["role"],
                "action": action,
                "entity": entity,
                "entityId": target["_id"],
                "before": before,
                "after": after,
                "requestId": None,
                "timestamp": at,
            }
        )
