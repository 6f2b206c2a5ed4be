"""Render a subscription event once per visibility scope, encode it once, send it to many.

Without this, 1,000 staff dashboards subscribed to `orderPlaced` run graphql-core's
execution of the same selection on the same Order 1,000 times, and orjson encodes the same
payload 1,000 times. Here:

1. `follow()` (alawael.realtime.stream) marks each value it yields with a `RenderShare`: the
   event's `Delivery` and the *render scope*, i.e. everything that decides what the
   subscriber may see of that value: the feed, the feed's visibility scope (all staff, or
   one customer: `stream.scope_of`) and the role (field permissions are per role). Only
   feeds whose yielded value is itself shared per that scope opt in (orders, stock); a
   feed that evaluates something per user (flags) does not.
2. `SharedRenderExecutor` (the schema's graphql-core executor class) executes a marked
   subscription event once per (render scope, operation, fragments, variables) and hands
   the same `ExecutionResult` to every subscriber of that key: `Delivery.memo`, so
   concurrent subscribers await one execution. Permissions are still evaluated, once,
   for the scope, by the same resolvers as before.
3. The WebSocket handlers (alawael.realtime.websocket) ask `shared_frame()` for the text
   of a `next`/`data` message: the payload is encoded once per render and only the
   operation id is spliced in per socket.
4. From its second event on, a follower (any subscriber of the group but the one that
   rendered) does not go through execution at all: `express_frame()` gives `follow()` the
   group's frame with its own operation id, which it sends on its socket itself. What it
   skips - graphql-core's per-event executor, Strawberry's result handling and extension
   hooks, the protocol handler's message building - only ever turned the shared result
   into that same frame (a result with errors never takes this path). With 1,000 sockets
   that was about half of an event's CPU.

Only selections whose every field depends on nothing but its parent value and the render
scope are shared (alawael.realtime.render_purity); the others, and results with errors, are
rendered per subscriber exactly as before. The first subscriber of a group renders, the
others wait for it (alawael.realtime.render_gate).
"""

from __future__ import annotations

from collections.abc import Awaitable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from graphql import (
    ExecutionResult,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    OperationType,
    print_ast,
)
from graphql.pyutils import AwaitableOrValue
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from alawael.infra.fanout import Delivery
from alawael.realtime.render_gate import Gate
from alawael.realtime.render_purity import shareable


@dataclass(slots=True)
class RenderShare:
    """What `follow()` sets around a yielded value: the event and the render scope. The
    executor fills in the document's key (so `follow` learns its group for later events)
    and opens the group's gate once the shared render is done."""

    delivery: Delivery
    scope: Hashable
    gate: Gate | None = None
    render_key: Hashable | None = None
    rendered: Rendered | None = None
    template: FrameTemplate | None = None  # set when a shared frame was sent for it

    def group(self) -> Hashable | None:
        """Subscribers of one group get the very same frame payload for every event."""
        return (self.scope, self.render_key) if self.render_key is not None else None


@dataclass(frozen=True, slots=True)
class FrameTemplate:
    """What one subscriber's frames of a shared render look like around the payload: its
    operation id (as JSON), the protocol's message type, and the `extensions` Strawberry
    computed for it (the payload was encoded with them)."""

    op_id: str
    type: str
    extensions: Any

    def frame(self, payload_text: str) -> str:
        return f'{{"id":{self.op_id},"type":"{self.type}","payload":{payload_text}}}'


class Rendered:
    """One execution of a subscription event, shared by a render scope, and its encoding."""

    __slots__ = ("_extensions", "_payload", "result")

    def __init__(self, result: ExecutionResult) -> None:
        self.result = result
        self._payload: str | None = None
        self._extensions: Any = None

    def payload_text(self, extensions: Any) -> str | None:
        """The payload `{"data": ..., "extensions": ...}` as JSON text, encoded for the first
        subscriber. Strawberry builds `extensions` per subscriber (e.g. the query cost, the
        same for one document and its variables): a subscriber whose extensions differ from
        the encoded ones gets None (encode your own)."""
        if self._payload is None:
            payload = {"data": self.result.data}
            if extensions:
                payload["extensions"] = extensions
            self._payload = orjson.dumps(payload).decode()
            self._extensions = extensions or None
        elif (extensions or None) != self._extensions:
            return None
        return self._payload


# The render key of the subscription being set up in this task (set by the executor, read
# once by `follow()` when it starts).
_SUBSCRIBED: ContextVar[Hashable | None] = ContextVar("subscribed_render_key", default=None)


def subscribed_render_key() -> Hashable | None:
    """The document's render key of the subscription starting in this task, once."""
    key = _SUBSCRIBED.get()
    _SUBSCRIBED.set(None)
    return key


# Set by `follow()` while the subscriber's value travels through execution and onto its
# socket (all in the subscriber's task); None everywhere else.
SHARED_RENDER: ContextVar[RenderShare | None] = ContextVar("shared_render", default=None)


@lru_cache(maxsize=512)
def _document_text(
    operation: OperationDefinitionNode, fragments: tuple[FragmentDefinitionNode, ...]
) -> str:
    """The selection as text: equal for equal documents, whoever parsed them."""
    return "\n".join(print_ast(node) for node in (operation, *fragments))


def _variables_key(coerced: dict[str, Any]) -> bytes:
    # Coerced values may hold enums, Decimals, ObjectIds: their str() is faithful enough
    # to tell two subscriptions apart, and equal inputs always give equal bytes.
    return orjson.dumps(coerced, option=orjson.OPT_SORT_KEYS, default=str)


class SharedRenderExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's graphql-core executor, executing a marked subscription event once per
    (render scope, document, variables). The document's part of that key is computed once
    per subscription (per-event executors are copies of the subscription's), never per
    event: hashing an AST per subscriber per event would cost what sharing saves."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._render_key: tuple[str, bytes] | None = None
        if self.operation.operation is OperationType.SUBSCRIPTION:
            fragments = tuple(self.fragment_definitions.values())
            if shareable(self.schema, self.operation, fragments):
                self._render_key = (
                    _document_text(self.operation, fragments),
                    _variables_key(self.variable_values.coerced),
                )
            # The subscription's resolver (and its `follow()`) runs next, in this task:
            # it can join its group from the first event on (see `subscribed_render_key`).
            _SUBSCRIBED.set(self._render_key)

    def execute_operation(self, serially: bool | None = None) -> AwaitableOrValue[Any]:
        share = SHARED_RENDER.get()
        if share is None or self._render_key is None:
            return super().execute_operation(serially)
        return self._shared(share, ("render", share.scope, self._render_key), serially)

    async def _shared(self, share: RenderShare, key: Hashable, serially: bool | None) -> Any:
        async def render() -> Rendered:
            result = super(SharedRenderExecutor, self).execute_operation(serially)
            if isinstance(result, Awaitable):
                result = await result
            # A subscription event is never incremental (graphql-core rejects @defer there).
            assert isinstance(result, ExecutionResult)
            return Rendered(result)

        share.render_key = self._render_key
        try:
            rendered = await share.delivery.memo(key, render)
        finally:
            if share.gate is not None:
                share.gate.open()
        if rendered.result.errors:
            # Errors are shaped, logged and formatted per subscriber downstream: rare
            # enough to render them the usual way rather than share mutable error objects.
            own = super().execute_operation(serially)
            return await own if isinstance(own, Awaitable) else own
        share.rendered = rendered
        return rendered.result


def shared_frame(message: Any) -> str | None:
    """The text of a `next` (graphql-transport-ws) or `data` (graphql-ws) message whose
    payload is a shared render, with the payload encoded once; None for anything else."""
    share = SHARED_RENDER.get()
    if share is None or share.rendered is None:
        return None
    if not isinstance(message, dict) or message.get("type") not in ("next", "data"):
        return None
    payload = message.get("payload")
    result = share.rendered.result
    # Only {"data", "extensions"?} built from this very render: errors are formatted per
    # subscriber by Strawberry, so those go the usual way.
    if (
        not isinstance(payload, dict)
        or payload.get("data") is not result.data
        or result.errors
        or not payload.keys() <= _PAYLOAD_KEYS
    ):
        return None
    extensions = payload.get("extensions")
    text = share.rendered.payload_text(extensions)
    if text is None:
        return None
    template = FrameTemplate(orjson.dumps(message.get("id")).decode(), message["type"], extensions)
    share.template = template
    return template.frame(text)


def express_frame(delivery: Delivery, group: Hashable, template: FrameTemplate) -> str | None:
    """The frame of this event's shared render of `group` for the subscriber whose earlier
    frames `template` describes; None when there is none (not rendered, failed, errors, or
    extensions other than the subscriber's): then it takes the normal path."""
    if not isinstance(group, tuple) or len(group) != 2:
        return None
    scope, render_key = group
    rendered = delivery.memo_result(("render", scope, render_key))
    if not isinstance(rendered, Rendered) or rendered.result.errors:
        return None
    text = rendered.payload_text(template.extensions)
    return template.frame(text) if text is not None else None


_PAYLOAD_KEYS = frozenset({"data", "extensions"})
