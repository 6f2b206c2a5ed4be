"""`alawael seed`: a realistic, deterministic demo data set.

Everything is generated in memory from one `random.Random(seed)` (ids included, derived
from the same generator and the documents' own timestamps), then written with chunked
`insert_many` calls: the embedded database answers a bulk insert of 500 documents in about
the time of a few single inserts. Same seed and same `now` -> byte-identical documents;
same seed at another time -> the same users, SKUs, order numbers, items and totals, shifted
to end at the new `now`.
"""

from __future__ import annotations

import itertools
import math
import random
import struct
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from bson import ObjectId
from tqdm import tqdm

from alawael.auth.passwords import hash_password
from alawael.auth.permissions import Role
from alawael.infra.db import INDEXES, Document, ensure_indexes
from alawael.infra.resources import Resources
from alawael.services.search import with_keys
from alawael.shared.errors import Conflict

DEMO_PASSWORD = "AlAwael-Demo-2026"
ADMIN_EMAIL = "admin@alawael.example"
DEMO_CUSTOMER_EMAIL = "customer@alawael.example"
CUSTOMERS = 60
CHUNK = 500
ORDER_DAYS = 90
STATUS_NOTIFICATION_AGE = timedelta(days=30)
ORDER_AUDIT_AGE = timedelta(days=14)
# Collections `--reset` drops; the first group is what "already seeded" looks at.
DATA_COLLECTIONS = ("users", "products", "orders", "notifications", "feature_flags")
ALL_COLLECTIONS = tuple(INDEXES)
CACHE_SCOPES = ("users", "products", "categories", "orders", "flags", "analytics")

# The orders state machine (services/orders.py enforces the same one on updates).
NEXT_STATUS = {"PENDING": "CONFIRMED", "CONFIRMED": "SHIPPED", "SHIPPED": "DELIVERED"}


class SeedRefused(Conflict):
    """The database already holds data and `reset` was not asked for."""


@dataclass
class SeedSummary:
    seed: int
    counts: dict[str, int]
    seconds: float
    logins: list[tuple[str, str]] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"Seeded the demo data set (seed {self.seed}) in {self.seconds:.1f} s:"]
        lines += [f"  {name:<15}{count:>7,}" for name, count in self.counts.items()]
        lines.append(f"Demo logins (password {DEMO_PASSWORD}):")
        lines += [f"  {role:<9} {email}" for role, email in self.logins]
        return "\n".join(lines)


# --- Reference data -------------------------------------------------------------------

FIRST_NAMES = [
    ("محمد", "Mohammed"), ("أحمد", "Ahmed"), ("عبدالله", "Abdullah"), ("خالد", "Khalid"),
    ("فيصل", "Faisal"), ("سلطان", "Sultan"), ("عمر", "Omar"), ("يوسف", "Yousef"),
    ("فاطمة", "Fatimah"), ("نورة", "Noura"), ("سارة", "Sarah"), ("ريم", "Reem"),
    ("هند", "Hind"), ("لمى", "Lama"), ("منيرة", "Munira"), ("ليلى", "Layla"),
]  # fmt: skip
LAST_NAMES = [
    ("العتيبي", "Alotaibi"), ("القحطاني", "Alqahtani"), ("الغامدي", "Alghamdi"),
    ("الشمري", "Alshammari"), ("الدوسري", "Aldosari"), ("الحربي", "Alharbi"),
    ("الزهراني", "Alzahrani"), ("المطيري", "Almutairi"), ("السبيعي", "Alsubaie"),
    ("العنزي", "Alanazi"),
]  # fmt: skip
# Residents who are not Saudi, as in any Riyadh customer base.
OTHER_NAMES = [
    ("James", "Carter"), ("Priya", "Sharma"), ("Maria", "Santos"), ("Ali", "Khan"),
    ("Elena", "Petrova"), ("John", "Okafor"), ("Aisha", "Rahman"), ("Tom", "Becker"),
]  # fmt: skip


@dataclass(frozen=True)
class Category:
    name: str
    code: str
    arabic: str
    items: tuple[tuple[str, str, float], ...]  # (english, arabic, base price SAR)
    variants: tuple[tuple[str, str, float], ...]  # (english, arabic, price factor)


CATEGORIES = (
    Category("Coffee", "COF", "قهوة", (
        ("Saudi Coffee Blend", "قهوة سعودية", 38), ("Khawlani Beans", "بن خولاني", 95),
        ("Cardamom Coffee", "قهوة بالهيل", 45), ("Espresso Roast", "تحميص إسبريسو", 52),
        ("Turkish Coffee", "قهوة تركية", 29), ("Cold Brew Pack", "قهوة باردة", 34),
    ), (("250 g", "250 جم", 1.0), ("500 g", "500 جم", 1.85), ("1 kg", "1 كجم", 3.4),
        ("Capsules x20", "كبسولات 20", 1.2))),
    Category("Dates", "DAT", "تمور", (
        ("Sukkari Dates", "تمر سكري", 45), ("Ajwa Dates", "تمر عجوة", 120),
        ("Khalas Dates", "تمر خلاص", 40), ("Medjool Dates", "تمر مجدول", 85),
        ("Stuffed Dates", "تمر محشي", 65), ("Date Sweets", "حلوى التمر", 18),
    ), (("500 g", "500 جم", 1.0), ("1 kg", "1 كجم", 1.9), ("Gift Box", "علبة هدايا", 2.6),
        ("3 kg Carton", "كرتون 3 كجم", 5.2))),
    Category("Spices", "SPI", "بهارات", (
        ("Kabsa Spice Mix", "بهارات كبسة", 14), ("Saffron", "زعفران", 75),
        ("Cardamom Pods", "حب الهيل", 48), ("Black Lime", "لومي أسود", 16),
        ("Cumin", "كمون", 12), ("Turmeric", "كركم", 11),
    ), (("100 g", "100 جم", 1.0), ("250 g", "250 جم", 2.2), ("500 g", "500 جم", 4.0),
        ("Jar", "برطمان", 1.3))),
    Category("Perfume", "PRF", "عطور", (
        ("Oud Oil", "دهن عود", 350), ("Bakhoor Incense", "بخور", 80),
        ("Musk Tahara", "مسك الطهارة", 35), ("Rose Taifi Oil", "دهن ورد طائفي", 220),
        ("Amber Perfume", "عطر العنبر", 160), ("Sandalwood Mist", "رذاذ الصندل", 95),
    ), (("Small", "صغير", 1.0), ("Large", "كبير", 1.7), ("Gift Set", "طقم هدية", 2.4),
        ("Travel", "للسفر", 0.6))),
    Category("Electronics", "ELE", "إلكترونيات", (
        ("Wireless Earbuds", "سماعات لاسلكية", 199), ("Power Bank", "شاحن متنقل", 89),
        ("USB-C Charger", "شاحن USB-C", 59), ("Smart Watch", "ساعة ذكية", 649),
        ("Bluetooth Speaker", "سماعة بلوتوث", 249), ("Phone Case", "غطاء جوال", 39),
    ), (("Black", "أسود", 1.0), ("White", "أبيض", 1.0), ("Pro", "برو", 1.6),
        ("Blue", "أزرق", 1.0))),
    Category("Office", "OFF", "مستلزمات مكتبية", (
        ("A4 Paper Ream", "ورق A4", 24), ("Gel Pens", "أقلام جل", 15),
        ("Notebook", "دفتر ملاحظات", 19), ("Desk Organizer", "منظم مكتب", 45),
        ("Stapler", "دباسة", 22), ("Whiteboard Markers", "أقلام سبورة", 18),
    ), (("Single", "مفرد", 1.0), ("Pack of 5", "عبوة 5", 4.2), ("Box of 10", "علبة 10", 8.0),
        ("Premium", "ممتاز", 1.5))),
    Category("Home", "HOM", "أدوات منزلية", (
        ("Dallah Coffee Pot", "دلة قهوة", 120), ("Finjan Cups Set", "طقم فناجين", 55),
        ("Prayer Rug", "سجادة صلاة", 75), ("Incense Burner", "مبخرة", 65),
        ("Tea Glasses", "كاسات شاي", 35), ("Serving Tray", "صينية تقديم", 48),
    ), (("Classic", "كلاسيك", 1.0), ("Gold", "ذهبي", 1.5), ("Silver", "فضي", 1.3),
        ("Set of 2", "طقم 2", 1.9))),
    Category("Clothing", "CLO", "ملابس", (
        ("Thobe", "ثوب", 180), ("Shemagh", "شماغ", 110), ("Abaya", "عباية", 260),
        ("Ghutra", "غترة", 70), ("Bisht", "بشت", 650), ("Kids Thobe", "ثوب أطفال", 90),
    ), (("S", "صغير", 1.0), ("M", "وسط", 1.0), ("L", "كبير", 1.05), ("XL", "كبير جدًا", 1.1))),
    Category("Beauty", "BEA", "عناية شخصية", (
        ("Argan Hair Oil", "زيت الأرغان", 49), ("Black Seed Soap", "صابون حبة البركة", 15),
        ("Rose Water", "ماء الورد", 19), ("Henna Powder", "حناء", 17),
        ("Kohl", "كحل", 25), ("Sidr Shampoo", "شامبو السدر", 32),
    ), (("Regular", "عادي", 1.0), ("Family Size", "حجم عائلي", 1.8),
        ("Travel Size", "حجم السفر", 0.5), ("Gift Set", "طقم هدية", 2.5))),
    Category("Toys", "TOY", "ألعاب", (
        ("Building Blocks", "مكعبات بناء", 89), ("Puzzle 500 pcs", "أحجية 500 قطعة", 55),
        ("Remote Car", "سيارة تحكم", 149), ("Plush Camel", "جمل محشو", 45),
        ("Board Game", "لعبة لوحية", 79), ("Drawing Kit", "طقم رسم", 39),
    ), (("Standard", "عادي", 1.0), ("Deluxe", "فاخر", 1.6), ("Mini", "صغير", 0.6),
        ("Collector", "إصدار خاص", 2.2))),
)  # fmt: skip

# (key, description, enabled, rollout, roles, how many pilot customers)
FLAGS: tuple[tuple[str, str, bool, int, tuple[str, ...], int], ...] = (
    ("new_checkout", "The redesigned one-page checkout.", True, 50, (), 0),
    ("arabic_invoices", "Invoices rendered in Arabic by default.", True, 100, (), 0),
    ("loyalty_points", "Earn points on every order.", True, 25, ("CUSTOMER",), 0),
    ("beta_dashboard", "The new analytics dashboard.", True, 100, ("MANAGER", "ADMIN"), 0),
    ("dark_mode", "Dark theme in the web app.", True, 100, (), 0),
    ("bulk_import", "CSV import of products.", False, 0, ("ADMIN",), 0),
    ("express_shipping", "Same-day delivery in Riyadh.", True, 10, (), 0),
    ("ai_recommendations", "Product suggestions (pilot users only).", True, 0, (), 3),
)

# (endpoint, method, share of traffic, median ms, share of client errors)
ENDPOINTS = (
    ("graphql:Products", "POST", 26, 18.0, 0.01),
    ("graphql:Product", "POST", 14, 9.0, 0.02),
    ("graphql:MyOrders", "POST", 12, 22.0, 0.01),
    ("graphql:PlaceOrder", "POST", 6, 65.0, 0.06),
    ("graphql:Me", "POST", 10, 5.0, 0.03),
    ("graphql:Login", "POST", 5, 110.0, 0.09),
    ("graphql:SalesSummary", "POST", 2, 140.0, 0.0),
    ("/api/products", "GET", 11, 20.0, 0.01),
    ("/api/products/{id}", "GET", 7, 8.0, 0.05),
    ("/api/orders", "POST", 3, 70.0, 0.07),
    ("/api/health", "GET", 4, 2.0, 0.0),
)  # fmt: skip


# --- Generation ---------------------------------------------------------------------------


class _Builder:
    """Builds every document from one random generator; no I/O."""

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

    # users
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

    # products
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

    # orders
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

    # flags, analytics, audit
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


# --- Writing ------------------------------------------------------------------------------


async def _existing(res: Resources) -> dict[str, int]:
    found: dict[str, int] = {}
    for name in DATA_COLLECTIONS:
        count = await res.db[name].count_documents({}, limit=1)
        if count:
            found[name] = count
    return found


async def _drop_secondary_indexes(res: Resources, names: Sequence[str]) -> None:
    """Drop the non-unique indexes of `names` for the bulk load (ensure_indexes rebuilds
    them afterwards). The embedded database maintains each index per inserted document;
    building them once at the end halves the load time. Unique indexes stay: they are
    integrity rules, not speed-ups."""
    for name in names:
        async for index in await res.db[name].list_indexes():
            if index["name"] != "_id_" and not index.get("unique", False):
                await res.db[name].drop_index(index["name"])


async def _insert(res: Resources, name: str, docs: list[Document], bar: Any) -> None:
    for start in range(0, len(docs), CHUNK):
        chunk = docs[start : start + CHUNK]
        await res.db[name].insert_many(chunk, ordered=False)
        bar.update(len(chunk))


async def seed_database(
    res: Resources,
    *,
    seed: int = 42,
    orders: int = 1000,
    products: int = 200,
    reset: bool = False,
    progress: bool = True,
    now: datetime | None = None,
    customers: int = CUSTOMERS,
    echo: bool = True,
    out: TextIO | None = None,
) -> SeedSummary:
    """Fill the database with the demo data set and print a summary (to `out`, default
    stdout, unless `echo` is false). `now` pins the clock, for byte-identical data sets.

    Refuses (SeedRefused, code CONFLICT) when users, products, orders, notifications or
    flags already exist, unless `reset` drops every collection first."""
    if orders < 0 or products < 1 or customers < 1:
        raise ValueError("products and customers must be positive, orders not negative")
    started = time.perf_counter()
    if reset:
        for name in ALL_COLLECTIONS:
            await res.db.drop_collection(name)
    else:
        existing = await _existing(res)
        if existing:
            listed = ", ".join(sorted(existing))
            raise SeedRefused(
                f"The database {res.settings.mongodb_db!r} already holds data ({listed}); "
                "seeding again would duplicate it. Run `alawael seed --reset` to drop "
                "everything and start over."
            )
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    # One argon2 hash shared by every demo user: hashing is deliberately slow.
    builder = _Builder(seed, moment, await hash_password(res.settings, DEMO_PASSWORD))
    builder.build_users(customers)
    builder.build_products(products)
    builder.build_flags()
    builder.build_orders(orders)
    builder.build_staff_notifications()
    builder.build_analytics(max(200, orders))

    plan: list[tuple[str, list[Document]]] = [
        ("users", with_keys("users", builder.users, builder.users)),
        ("products", with_keys("products", builder.products, builder.users)),
        ("feature_flags", builder.flags),
        ("orders", with_keys("orders", builder.orders, builder.users)),
        ("notifications", builder.notifications),
        ("analytics", builder.analytics),
        ("audit_trail", builder.audit),
    ]
    await _drop_secondary_indexes(res, [name for name, _ in plan])
    with tqdm(
        total=sum(len(docs) for _, docs in plan),
        desc="seeding",
        unit="doc",
        disable=not progress,
        file=sys.stderr,
    ) as bar:
        for name, docs in plan:
            bar.set_postfix_str(name)
            await _insert(res, name, docs, bar)
        bar.set_postfix_str("indexes")
        # force: ensure_indexes skips work when its marker says the set exists, and we
        # just dropped part of it.
        await ensure_indexes(res.db, force=True)  # the keys are in the documents already
    await res.db.counters.replace_one(
        {"_id": "orders"}, {"_id": "orders", "seq": len(builder.orders)}, upsert=True
    )
    # A running server (sharing Redis) must not keep serving pre-seed cached answers.
    await res.cache.bump(*CACHE_SCOPES)

    summary = SeedSummary(
        seed=seed,
        counts={name: len(docs) for name, docs in plan} | {"counters": 1},
        seconds=time.perf_counter() - started,
        logins=[
            ("ADMIN", ADMIN_EMAIL),
            ("MANAGER", "manager1@alawael.example"),
            ("STAFF", "staff1@alawael.example"),
            ("CUSTOMER", DEMO_CUSTOMER_EMAIL),
        ],
    )
    if echo:
        print(summary.render(), file=out or sys.stdout)
    return summary
