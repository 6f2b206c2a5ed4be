"""Generation: every document of the demo data set built from one random generator."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from bson import ObjectId

from alawael.auth.permissions import Role
from alawael.devtools.seed.base import BuilderBase
from alawael.devtools.seed.data import (
    ADMIN_EMAIL,
    CATEGORIES,
    DEMO_CUSTOMER_EMAIL,
    FIRST_NAMES,
    LAST_NAMES,
    NEXT_STATUS,
    ORDER_AUDIT_AGE,
    ORDER_DAYS,
    OTHER_NAMES,
    STATUS_NOTIFICATION_AGE,
    Category,
)
from alawael.infra.db import Document


class _Builder(BuilderBase):
    """Builds every document from one random generator; no I/O."""

    def build_users(self, customers: int) -> None:
        staff_since = (timedelta(days=300), timedelta(days=365))
        self.user(ADMIN_EMAIL, "AlAwael Admin", Role.ADMIN, self.ago(*staff_since))
        for i, name in enumerate(("Noura Alqahtani", "خالد الغامدي"), start=1):
            self.user(f"manager{i}@alawael.example", name, Role.MANAGER, self.ago(*staff_since))
        for i in range(1, 5):
            first_ar, first_en = self.rng.choice(FIRST_NAMES)
            last_ar, last_en = self.rng.choice(LAST_NAMES)
            name = f"{first_ar} {last_ar}" if i % 2 else f"{first_en} {last_en}"
            self.user(f"staff{i}@alawael.example", name, Role.STAFF, self.ago(*staff_since))
        seen: Counter[str] = Counter()
        for i in range(customers):
            if self.rng.random() < 0.15:
                first_en, last_en = self.rng.choice(OTHER_NAMES)
                display = f"{first_en} {last_en}"
            else:
                first_ar, first_en = self.rng.choice(FIRST_NAMES)
                last_ar, last_en = self.rng.choice(LAST_NAMES)
                # About half write their name in Arabic script.
                arabic = self.rng.random() < 0.5
                display = f"{first_ar} {last_ar}" if arabic else f"{first_en} {last_en}"
            local = f"{first_en}.{last_en}".lower()
            seen[local] += 1
            email = f"{local}{seen[local] if seen[local] > 1 else ''}@example.sa"
            if i == 0:
                email, display = DEMO_CUSTOMER_EMAIL, "Sara Alharbi"
            self.user(email, display, Role.CUSTOMER, self.ago(timedelta(days=95), staff_since[0]))

    def build_products(self, count: int) -> None:
        combos: list[list[tuple[Category, tuple[str, str, float], tuple[str, str, float]]]] = []
        for cat in CATEGORIES:
            pairs = [(cat, item, var) for item in cat.items for var in cat.variants]
            self.rng.shuffle(pairs)
            combos.append(pairs)
        managers = self.by_role(Role.MANAGER)
        archived = set(self.rng.sample(range(count), max(1, round(count * 0.03))))
        low = set(
            self.rng.sample(sorted(set(range(count)) - archived), max(1, round(count * 0.05)))
        )
        seq: Counter[str] = Counter()
        for i in range(count):
            row = combos[i % len(combos)]
            cat, (item_en, item_ar, base), (var_en, var_ar, factor) = row[
                (i // len(combos)) % len(row)
            ]
            round_no = i // (len(combos) * len(row))
            suffix = f" #{round_no + 1}" if round_no else ""
            seq[cat.code] += 1
            english, arabic = f"{item_en} {var_en}{suffix}", f"{item_ar} {var_ar}{suffix}"
            price = base * factor * self.rng.uniform(0.9, 1.1)
            # Shelf prices end in .00, .50 or .95 (SAR, VAT included).
            cents = max(100, int(price) * 100 + self.rng.choice((0, 50, 95)))
            threshold = self.rng.choice((5, 10, 10, 10, 20))
            stock = (
                self.rng.randrange(threshold) if i in low else self.rng.randint(threshold + 5, 400)
            )
            created = self.ago(timedelta(days=100), timedelta(days=200))
            doc: Document = {
                "_id": self.oid(created),
                "sku": f"{cat.code}-{seq[cat.code]:04d}",
                "name": arabic if self.rng.random() < 0.4 else english,
                "description": f"{english} — {arabic}. {cat.name} / {cat.arabic}.",
                "category": cat.name,
                "priceCents": cents,
                "currency": "SAR",
                "stock": stock,
                "archived": i in archived,
                "lowStockThreshold": threshold,
                "createdAt": created,
                "updatedAt": created,
            }
            self.products.append(doc)
            self.audit_entry(
                self.rng.choice(managers), "createProduct", "product", doc, None, doc, created
            )

    def build_orders(self, count: int) -> None:
        customers = self.by_role(Role.CUSTOMER)
        handlers = self.by_role(Role.STAFF, Role.MANAGER)
        # Cumulative weights computed once: `choices` would re-add them on every call.
        loyalty = list(itertools.accumulate(self.rng.paretovariate(1.2) for _ in customers))
        active = [p for p in self.products if not p["archived"]]
        popularity = list(itertools.accumulate(self.rng.paretovariate(1.5) for _ in active))
        moments = sorted(self.ago(timedelta(0), timedelta(days=ORDER_DAYS)) for _ in range(count))
        for number, created in enumerate(moments, start=1):
            customer = self.rng.choices(customers, cum_weights=loyalty)[0]
            picked: dict[ObjectId, Document] = {}
            size = self.rng.choices((1, 2, 3, 4, 5), (35, 30, 18, 11, 6))[0]
            while len(picked) < min(size, len(active)):
                product = self.rng.choices(active, cum_weights=popularity)[0]
                picked[product["_id"]] = product
            items = []
            for product in picked.values():
                quantity = self.rng.choices((1, 2, 3, 4, 5), (60, 22, 10, 5, 3))[0]
                items.append(
                    {
                        "productId": product["_id"],
                        "sku": product["sku"],
                        "name": product["name"],
                        "unitPriceCents": product["priceCents"],
                        "quantity": quantity,
                        "lineTotalCents": product["priceCents"] * quantity,
                    }
                )
            subtotal = sum(item["lineTotalCents"] for item in items)
            history = self.history(created, customer["_id"], handlers)
            doc: Document = {
                "_id": self.oid(created),
                "number": f"ORD-{number:06d}",
                "userId": customer["_id"],
                "items": items,
                "subtotalCents": subtotal,
                "totalCents": subtotal,  # shelf prices include VAT; no shipping fee
                "currency": "SAR",
                "status": history[-1]["status"],
                "statusHistory": history,
                "createdAt": created,
                "updatedAt": history[-1]["at"],
            }
            self.orders.append(doc)
            self.order_side_effects(doc, customer)

    def history(
        self, created: datetime, customer_id: ObjectId, handlers: Sequence[Document]
    ) -> list[Document]:
        """A status path the state machine allows, with times that never pass `now`."""
        age_days = (self.now - created).total_seconds() / 86_400
        if age_days < 1:
            target = self.rng.choices(("PENDING", "CONFIRMED", "CANCELLED"), (55, 35, 10))[0]
        elif age_days < 3:
            target = self.rng.choices(
                ("PENDING", "CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED"), (10, 30, 40, 10, 10)
            )[0]
        elif age_days < 7:
            target = self.rng.choices(
                ("CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED"), (5, 35, 52, 8)
            )[0]
        else:
            target = self.rng.choices(("SHIPPED", "DELIVERED", "CANCELLED"), (2, 90, 8))[0]
        history: list[Document] = [
            {"status": "PENDING", "at": created, "byUserId": customer_id, "note": None}
        ]
        steps = {"CONFIRMED": (0.1, 6), "SHIPPED": (6, 48), "DELIVERED": (20, 96)}  # hours
        cancel_from = self.rng.choice(("PENDING", "CONFIRMED")) if target == "CANCELLED" else ""
        while history[-1]["status"] != target:
            current = history[-1]["status"]
            if target == "CANCELLED" and current == cancel_from:
                status, low, high = "CANCELLED", 0.05, 24.0
            else:
                status = NEXT_STATUS[current]
                low, high = steps[status]
            at = history[-1]["at"] + timedelta(hours=self.rng.uniform(low, high))
            if at > self.now:
                break  # not there yet: the order stays in its current state
            by_customer = status == "CANCELLED" and current == "PENDING" and self.rng.random() < 0.6
            note = None
            if status == "CANCELLED":
                note = "Cancelled by the customer" if by_customer else "Payment not confirmed"
            history.append(
                {
                    "status": status,
                    "at": at.replace(microsecond=0),
                    "byUserId": customer_id if by_customer else self.rng.choice(handlers)["_id"],
                    "note": note,
                }
            )
        return history

    def order_side_effects(self, order: Document, customer: Document) -> None:
        """Notifications and audit entries as the services would have written them. Only
        recent orders get the per-step ones: the embedded database indexes every document,
        and a demo needs a realistic recent history, not 90 days of it."""
        total = f"{order['totalCents'] / 100:,.2f}"
        age = self.now - order["createdAt"]
        self.notification(
            customer["_id"],
            "ORDER_PLACED",
            f"Order {order['number']} placed",
            f"We received your order of {len(order['items'])} item(s), total SAR {total}.",
            {"orderId": order["_id"]},
            order["createdAt"],
        )
        if age <= STATUS_NOTIFICATION_AGE:
            for step in order["statusHistory"][1:]:
                self.notification(
                    customer["_id"],
                    "ORDER_STATUS",
                    f"Order {order['number']} is {step['status'].lower()}",
                    step["note"] or f"Your order is now {step['status'].lower()}.",
                    {"orderId": order["_id"], "status": step["status"]},
                    step["at"],
                )
        if age > ORDER_AUDIT_AGE:
            return
        self.audit_entry(customer, "placeOrder", "order", order, None, order, order["createdAt"])
        for previous, step in itertools.pairwise(order["statusHistory"]):
            self.audit_entry(
                self.users_by_id[step["byUserId"]],
                "cancelOrder" if step["status"] == "CANCELLED" else "updateOrderStatus",
                "order",
                order,
                {"status": previous["status"]},
                {"status": step["status"]},
                step["at"],
            )

    def build_staff_notifications(self) -> None:
        watchers = self.by_role(Role.MANAGER, Role.ADMIN)
        for product in self.products:
            if product["archived"] or product["stock"] >= product["lowStockThreshold"]:
                continue
            at = self.ago(timedelta(hours=1), timedelta(days=3))
            for user in watchers:
                self.notification(
                    user["_id"],
                    "LOW_STOCK",
                    f"Low stock: {product['name']}",
                    f"{product['sku']} has {product['stock']} left "
                    f"(threshold {product['lowStockThreshold']}).",
                    {"productId": product["_id"], "stock": product["stock"]},
                    at,
                )
        today = self.now.replace(hour=0, minute=0, second=0, microsecond=0)
        for days_back in range(1, 8):
            day = today - timedelta(days=days_back)
            placed = [o for o in self.orders if day <= o["createdAt"] < day + timedelta(days=1)]
            revenue = sum(o["totalCents"] for o in placed if o["status"] != "CANCELLED")
            for user in watchers:
                self.notification(
                    user["_id"],
                    "DAILY_SUMMARY",
                    f"Daily summary for {day.date().isoformat()}",
                    f"{len(placed)} orders, SAR {revenue / 100:,.2f} revenue.",
                    {"date": day},
                    day + timedelta(days=1, hours=6),
                )
