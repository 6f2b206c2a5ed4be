"""Products: catalogue reads (cached, public) and writes (managers), stock adjustments.

Reads go through the resolver cache under the scopes `products` (lists, sku lookups),
`product:<hex>` (one product) and `categories`; every write bumps all three. Archived
products are hidden from everyone but managers, so cache keys carry that visibility.
"""

from alawael.services.products.reads import (
    get_product,
    get_product_by_sku,
    list_categories,
    list_products,
    visible,
)
from alawael.services.products.rules import (
    MAX_PRICE_CENTS,
    MAX_STOCK,
    MAX_TEXT,
    STOCK_CHANNEL,
    ProductData,
    ProductFilter,
    ProductSortField,
    is_manager,
    product_scopes,
)
from alawael.services.products.writes import (
    adjust_stock,
    archive_product,
    create_product,
    restore_product,
    update_product,
)

__all__ = [
    "MAX_PRICE_CENTS",
    "MAX_STOCK",
    "MAX_TEXT",
    "STOCK_CHANNEL",
    "ProductData",
    "ProductFilter",
    "ProductSortField",
    "adjust_stock",
    "archive_product",
    "create_product",
    "get_product",
    "get_product_by_sku",
    "is_manager",
    "list_categories",
    "list_products",
    "product_scopes",
    "restore_product",
    "update_product",
    "visible",
]
