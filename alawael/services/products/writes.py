"""Product writes (managers): create, update, archive, restore, stock adjustments, each
audited."""

from __future__ import annotations

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from alawael.auth.permissions import Actor, Permission, require
from alawael.infra.clock import utcnow
from alawael.infra.db import Document
from alawael.infra.resources import Resources
from alawael.records.products import ProductRecord
from alawael.services import idempotency, search
from alawael.services.audited import Author, Change, audited_write
from alawael.services.notifications import crossed_low_stock, notify_low_stock
from alawael.services.products.rules import (
    MAX_STOCK,
    STOCK_CHANNEL,
    ProductData,
    bounded,
    product_scopes,
    validated,
)
from alawael.shared.errors import BadUserInput, Conflict, InsufficientStock, NotFound


async def create_product(
    res: Resources, actor: Actor | None, data: ProductData, *, request_id: str | None = None
) -> ProductRecord:
    require(actor, Permission.MANAGE_PRODUCTS)
    fields = validated(data, creating=True)
    now = utcnow()
    doc: Document = {"_id": ObjectId(), **fields, "archived": False, "createdAt": now}
    doc["updatedAt"] = now

    async def change(session: AsyncClientSession) -> Change[Document]:
        try:
            await res.db.products.insert_one({**doc, **search.product_keys(doc)}, session=session)
        except DuplicateKeyError as exc:
            raise Conflict(f"A product with sku {fields['sku']} exists.", field="sku") from exc
        return Change(doc, doc["_id"], before=None, after=doc)

    await audited_write(
        res,
        Author(actor, request_id),
        action="createProduct",
        entity="product",
        change=change,
        scopes=product_scopes(doc["_id"]),
    )
    return ProductRecord.from_doc(doc)


async def update_product(
    res: Resources,
    actor: Actor | None,
    oid: ObjectId,
    data: ProductData,
    *,
    request_id: str | None = None,
) -> ProductRecord:
    """Update the given fields. Stock is not editable here: `adjust_stock` keeps a reason
    and the low-stock rules."""
    require(actor, Permission.MANAGE_PRODUCTS)
    if data.stock is not None:
        raise BadUserInput("Change stock with adjustStock.", field="stock")
    fields = validated(data, creating=False)
    if not fields:
        current = await res.db.products.find_one({"_id": oid})
        if current is None:
            raise NotFound("No such product.", field="id")
        return ProductRecord.from_doc(current)
    fields["updatedAt"] = utcnow()

    async def change(session: AsyncClientSession) -> Change[Document]:
        # BEFORE from the update itself: the audited "before" is exactly what was replaced,
        # even under concurrent updates, and it commits with the change.
        try:
            before = await res.db.products.find_one_and_update(
                {"_id": oid},
                {"$set": fields},
                return_document=ReturnDocument.BEFORE,
                session=session,
            )
        except DuplicateKeyError as exc:
            raise Conflict(f"A product with sku {fields['sku']} exists.", field="sku") from exc
        if before is None:
            raise NotFound("No such product.", field="id")
        if fields.keys() & {"name", "sku", "category", "description"}:
            keys = search.product_keys({**before, **fields})
            await res.db.products.update_one({"_id": oid}, {"$set": keys}, session=session)
        return Change(
            {**before, **fields}, oid, before={k: before.get(k) for k in fields}, after=fields
        )

    after = await audited_write(
        res,
        Author(actor, request_id),
        action="updateProduct",
        entity="product",
        change=change,
        scopes=product_scopes(oid),
    )
    return ProductRecord.from_doc(after)


async def archive_product(
    res: Resources, actor: Actor | None, oid: ObjectId, *, request_id: str | None = None
) -> ProductRecord:
    """Soft delete: the document stays, so orders keep resolving their products."""
    return await _set_archived(res, actor, oid, True, "archiveProduct", request_id)


async def restore_product(
    res: Resources, actor: Actor | None, oid: ObjectId, *, request_id: str | None = None
) -> ProductRecord:
    """Undo `archive_product`: the product is back in the catalogue, with its stock as it
    was (archiving never touched it). Restoring a product that is not archived changes
    nothing but is not an error (a retried request must not fail)."""
    return await _set_archived(res, actor, oid, False, "restoreProduct", request_id)


async def _set_archived(
    res: Resources,
    actor: Actor | None,
    oid: ObjectId,
    archived: bool,
    action: str,
    request_id: str | None,
) -> ProductRecord:
    """Archive or restore, audited with the flag as it really was before."""
    require(actor, Permission.MANAGE_PRODUCTS)

    async def change(session: AsyncClientSession) -> Change[Document]:
        now = utcnow()
        before: Document | None = await res.db.products.find_one_and_update(
            {"_id": oid},
            {"$set": {"archived": archived, "updatedAt": now}},
            return_document=ReturnDocument.BEFORE,
            session=session,
        )
        if before is None:
            raise NotFound("No such product.", field="id")
        after = {**before, "archived": archived, "updatedAt": now}
        was = bool(before.get("archived"))
        return Change(after, oid, before={"archived": was}, after={"archived": archived})

    after = await audited_write(
        res,
        Author(actor, request_id),
        action=action,
        entity="product",
        change=change,
        scopes=product_scopes(oid),
    )
    return ProductRecord.from_doc(after)


async def adjust_stock(
    res: Resources,
    actor: Actor | None,
    oid: ObjectId,
    delta: int,
    reason: str,
    *,
    idempotency_key: str | None = None,
    request_id: str | None = None,
) -> ProductRecord:
    """Add `delta` (may be negative) to the stock; never below 0 nor above MAX_STOCK.

    The bounds are part of the update filter, so two concurrent adjustments can't together
    take the stock below zero. With an idempotency key, a retry (same product, delta and
    reason) returns the first adjustment's product without adjusting again; the same key
    for a different adjustment is a CONFLICT (services/idempotency.py, as for orders)."""
    actor = require(actor, Permission.MANAGE_PRODUCTS)
    bounded(delta, "delta", -MAX_STOCK, MAX_STOCK)
    if delta == 0:
        raise BadUserInput("`delta` must not be 0.", field="delta")
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise BadUserInput("`reason` must be 1-500 characters.", field="reason")
    bound = {"$gte": -delta} if delta < 0 else {"$lte": MAX_STOCK - delta}
    key = idempotency.validate_key(idempotency_key)
    rid = fp = None
    if key is not None:
        rid = idempotency.record_id("adjustStock", actor.user_id, key)
        fp = idempotency.fingerprint({"productId": str(oid), "delta": delta, "reason": reason})
        found = await idempotency.find(res.db, rid, request_fingerprint=fp)
        if found is not None:
            return ProductRecord.from_doc(found)

    async def change(session: AsyncClientSession) -> Change[Document]:
        after: Document | None = await res.db.products.find_one_and_update(
            {"_id": oid, "stock": bound},
            {"$inc": {"stock": delta}, "$set": {"updatedAt": utcnow()}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if after is None:
            current = await res.db.products.find_one({"_id": oid}, {"stock": 1}, session=session)
            if current is None:
                raise NotFound("No such product.", field="id")
            if delta < 0:
                raise InsufficientStock(
                    f"Only {current['stock']} in stock; cannot remove {-delta}.",
                    field="delta",
                    details={"available": current["stock"]},
                )
            raise BadUserInput(f"Stock may not exceed {MAX_STOCK}.", field="delta")
        if rid is not None:
            # The product as this adjustment left it is the result a retry gets back; it
            # commits with the adjustment, so a racing retry sees both or neither.
            await idempotency.insert(res.db, rid, after, request_fingerprint=fp, session=session)
        return Change(
            after,
            oid,
            before={"stock": after["stock"] - delta},
            after={"stock": after["stock"], "delta": delta, "reason": reason},
        )

    try:
        after = await audited_write(
            res,
            Author(actor, request_id),
            action="adjustStock",
            entity="product",
            change=change,
            scopes=product_scopes(oid),
        )
    except DuplicateKeyError:
        # A concurrent retry with the same key committed first: return its result.
        found = await idempotency.find(res.db, rid, request_fingerprint=fp) if rid else None
        if found is None:
            raise
        return ProductRecord.from_doc(found)
    await res.events.publish(STOCK_CHANNEL, {"productId": str(oid), "stock": after["stock"]})
    if crossed_low_stock(after, delta):
        await notify_low_stock(res, [after])
    return ProductRecord.from_doc(after)
