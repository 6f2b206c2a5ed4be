"""Process-global observer hooks: code reports what happened (a loader batch, an error by
code), the metrics module counts it. Here, below every door, so loaders, GraphQL and REST
can report without importing the metrics module, and metrics never imports a door."""

from __future__ import annotations

from collections.abc import Callable

# Called with (collection, batch size) after each DataLoader batch.
BatchObserver = Callable[[str, int], None]
_batch_observers: list[BatchObserver] = []

# Called with (source, code) for each error a client receives ("graphql", "rest").
ErrorObserver = Callable[[str, str], None]
_error_observers: list[ErrorObserver] = []


def observe_batches(observer: BatchObserver) -> None:
    _batch_observers.append(observer)


def report_batch(collection: str, size: int) -> None:
    for observer in _batch_observers:
        observer(collection, size)


def observe_errors(observer: ErrorObserver) -> None:
    _error_observers.append(observer)


def report_error(source: str, code: str) -> None:
    for observer in _error_observers:
        observer(source, code)
