"""`alawael seed`: a realistic, deterministic demo data set.

Everything is generated in memory from one `random.Random(seed)` (ids included, derived
from the same generator and the documents' own timestamps), then written with chunked
`insert_many` calls: the embedded database answers a bulk insert of 500 documents in about
the time of a few single inserts. Same seed and same `now` -> byte-identical documents;
same seed at another time -> the same users, SKUs, order numbers, items and totals, shifted
to end at the new `now`.

data.py holds the reference data, builder.py the generation (no I/O), writer.py the load.
"""

from alawael.devtools.seed.data import (
    ADMIN_EMAIL,
    CACHE_SCOPES,
    CUSTOMERS,
    DEMO_CUSTOMER_EMAIL,
    DEMO_PASSWORD,
)
from alawael.devtools.seed.writer import SeedRefused, SeedSummary, seed_database

__all__ = [
    "ADMIN_EMAIL",
    "CACHE_SCOPES",
    "CUSTOMERS",
    "DEMO_CUSTOMER_EMAIL",
    "DEMO_PASSWORD",
    "SeedRefused",
    "SeedSummary",
    "seed_database",
]
