"""One audited write: the change and its audit entry commit in one transaction; the cache
bump runs only after the commit.

Every write of the services goes through `audited_write`, so none can forget the audit
entry, write it outside the change's transaction (an aborted change with a committed audit
line, or the reverse), drop the request id, or bump the cache before the change is visible
(a reader on another worker would re-cache the old value under the new generation).
Events are published by the caller once this returns: that is after the commit too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pymongo.asynchronous.client_session import AsyncClientSession

from alawael.auth.permissions import Actor
from alawael.infra.db import Document
from alawael.infra.resources import Resources
from alawael.services import audit
from alawael.services.transactions import run_transaction

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Author:
    """Who writes: the caller, the request it came in (for the audit's request id), and for
    writes no user made, the system part that made them (e.g. "cli")."""

    actor: Actor | None
    request_id: str | None = None
    system: str | None = None


@dataclass(frozen=True, slots=True)
class Change(Generic[T]):
    """What a write's transaction returns: its result and what the audit entry records."""

    result: T
    entity_id: Any
    before: Document | None
    after: Document | None


async def audited_write(
    res: Resources,
    author: Author,
    *,
    action: str,
    entity: str,
    change: Callable[[AsyncClientSession], Awaitable[Change[T]]],
    scopes: Callable[[T], Sequence[str]] | Sequence[str] = (),
) -> T:
    """Run `change` in a transaction (re-run on transient conflicts, so it must rebuild its
    state each time), record its audit entry in the same transaction, and after the commit
    bump the cache `scopes` (a list, or a function of the result)."""

    async def txn(session: AsyncClientSession) -> T:
        done = await change(session)
        await audit.record(
            res.db,
            author.actor,
            action=action,
            entity=entity,
            entity_id=done.entity_id,
            before=done.before,
            after=done.after,
            session=session,
            request_id=author.request_id,
            system=author.system,
        )
        return done.result

    result = await run_transaction(res, txn)
    bumped = scopes(result) if callable(scopes) else scopes
    if bumped:
        await res.cache.bump(*bumped)
    return result


async def record_audit(
    res: Resources,
    author: Author,
    *,
    action: str,
    entity: str,
    entity_id: Any,
    before: Document | None = None,
    after: Document | None = None,
) -> None:
    """The audit entry of a change that could not share its transaction: a single atomic
    update whose failure path must persist (the refresh-token rotation revokes a session on
    token reuse and then fails the call; inside a transaction that revocation would abort).
    Use `audited_write` everywhere else."""
    await audit.record(
        res.db,
        author.actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
        request_id=author.request_id,
        system=author.system,
    )
