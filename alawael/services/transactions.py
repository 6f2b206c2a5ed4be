"""Multi-document transactions: what belongs together commits together."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pymongo.asynchronous.client_session import AsyncClientSession

from alawael.infra.resources import Resources

T = TypeVar("T")


async def run_transaction(
    res: Resources, callback: Callable[[AsyncClientSession], Awaitable[T]]
) -> T:
    """Run `callback` in a multi-document transaction. `with_transaction` retries the
    whole callback on TransientTransactionError (e.g. write conflicts between concurrent
    writers) and the commit on UnknownTransactionCommitResult, with backoff, for up to 120 s,
    so the callback must be safe to re-run: it rebuilds all its state on each attempt.
    Other exceptions (an AppError such as NOT_FOUND) abort the transaction and propagate."""
    async with res.client.start_session() as session:

        async def run(s: AsyncClientSession) -> T:
            return await callback(s)

        return await session.with_transaction(run)
