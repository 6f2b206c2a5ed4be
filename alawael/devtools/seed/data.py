"""The demo data set's reference data: names, categories, flags, endpoints, sizes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from alawael.infra.indexes import INDEXES

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
