"""Schema-level subscription helpers (`schema.subscribe`, no HTTP): a running
subscription pumped into a queue, waiting for listeners, and the product and order an event
is about."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from bson import ObjectId

from alawael.auth.permissions import Actor
from alawael.context import Context, Resources
from alawael.schema.build import exported_schema
from alawael.services import orders, products
from alawael.services.orders import OrderLine
from tests.support.polling import eventually
from tests.support.rest import SETUP_MANAGER

schema = exported_schema()


class Sub:
    """A running subscription: its results are pumped into a queue by a task."""

    def __init__(self, res: Resources, query: str, user: Actor | None, variables: Any = None):
        self.results: asyncio.Queue[Any] = asyncio.Queue()
        self.res = res
        self._task = asyncio.create_task(self._pump(query, user, variables))

    async def _pump(self, query: str, user: Actor | None, variables: Any) -> None:
        ctx = Context(resources=self.res, user=user)
        stream = await schema.subscribe(query, variable_values=variables, context_value=ctx)
        if not isinstance(stream, AsyncIterator):
            await self.results.put(stream)
            return
        async for result in stream:
            await self.results.put(result)
        await self.results.put(None)  # completed

    async def next(self, wait: float = 3.0) -> Any:
        return await asyncio.wait_for(self.results.get(), wait)

    async def data(self, wait: float = 3.0) -> dict[str, Any]:
        result = await self.next(wait)
        assert result is not None, "subscription completed"
        assert not result.errors, result.errors
        data: dict[str, Any] = result.data
        return data

    async def nothing(self, within: float = 0.3) -> None:
        try:
            got = await asyncio.wait_for(self.results.get(), within)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected result: {got}")

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def listening(res: Resources, channel: str, count: int) -> None:
    """Wait until `count` subscribers listen on `channel` (subscriptions start lazily)."""
    fanout = res.events.fanout  # type: ignore[attr-defined]

    async def enough() -> bool:
        return bool(fanout.subscriber_count(channel) >= count)

    await eventually(enough, within=3.0, every=0.01, what=f"{count} subscribers on {channel}")


async def product(res: Resources, stock: int = 100, price: int = 1250) -> ObjectId:
    doc = await products.create_product(
        res,
        SETUP_MANAGER,
        products.ProductData(
            sku=f"SKU-{ObjectId()}",
            name="Widget",
            description="",
            category="tools",
            price_cents=price,
            currency="SAR",
            stock=stock,
            low_stock_threshold=0,
        ),
    )
    oid: ObjectId = doc.id
    return oid


async def place(res: Resources, actor: Actor, pid: ObjectId, qty: int = 1) -> ObjectId:
    doc = await orders.place_order(res, actor, [OrderLine(product_id=pid, quantity=qty)])
    oid: ObjectId = doc.id
    return oid
