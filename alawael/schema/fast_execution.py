"""A graphql-core execution context with a fast path for plain leaf fields.

Most of a dashboard response is leaf fields read straight off a Strawberry object (`number`,
`total`, `sku`, ...): ~1,300 of its ~1,600 fields. For each, graphql-core builds a
GraphQLResolveInfo, calls Strawberry's basic-field resolver (which calls getattr), checks
the result for awaitability twice and walks complete_value's type dispatch; that per-field
machinery, not the work, was the largest share of a cold request's CPU.

For a field that Strawberry itself treats as "basic" (no resolver, no permission classes,
no field extensions: `StrawberryField.is_basic_field`, resolved by its `_get_basic_result`)
and whose type is a scalar or enum, this context reads the attribute and serializes it
directly. Anything unusual (null on a non-null field, an Exception value, a serializer that
fails or returns null, schema extensions with a `resolve` hook) falls back to graphql-core's
own `execute_fields`, so errors, paths and messages are exactly graphql-core's. The plan per
(type, field) is computed once and kept for the schema's life. `execute_fields` resolves an
object's leaves in one loop (no Path, no awaitability checks for them) and hands the other
fields to graphql-core in one call, keeping the query's field order.

GRAPHQL_FAST_PATH=false builds the schema with Strawberry's own context (alawael.schema.build);
tests/test_fast_path_guard.py compares both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, cast

from graphql import (
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_DEFINITION = "strawberry-definition"
_SLOW: Any = object()  # "not a plain leaf, or not this time": graphql-core's path


class LeafPlan(NamedTuple):
    read: Callable[[Any, str], Any]  # Strawberry's default resolver (getattr)
    python_name: str
    serialize: Callable[[Any], Any]
    nullable: bool


def leaf_plan(field_def: GraphQLField) -> LeafPlan | None:
    """How to resolve `field_def` without graphql-core's per-field machinery, or None when it
    must go the normal way."""
    definition = (field_def.extensions or {}).get(_DEFINITION)
    resolver = field_def.resolve
    if (
        definition is None
        or not getattr(definition, "is_basic_field", False)
        # Strawberry's own fast resolver for basic fields; anything else (exception
        # handlers, a custom resolver) goes the normal way.
        or getattr(resolver, "__name__", "") != "_get_basic_result"
        or field_def.args
    ):
        return None
    leaf_type = field_def.type
    nullable = not isinstance(leaf_type, GraphQLNonNull)
    if not nullable:
        leaf_type = leaf_type.of_type  # type: ignore[union-attr]
    if not is_leaf_type(leaf_type):
        return None
    read = definition.default_resolver
    python_name = definition.python_name
    if read is None or python_name is None:
        return None
    return LeafPlan(read, python_name, leaf_type.coerce_output_value, nullable)


class FastLeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, plus the leaf fast path described above."""

    # (parent type, field name) -> plan; GraphQL types compare by identity, so a schema's
    # plans never serve another schema. Bounded by the schema's size.
    _plans: dict[tuple[GraphQLObjectType, str], LeafPlan | None] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        # A resolve hook must see every field: then no fast path at all.
        self._fast = manager is None or not manager.middlewares

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Any,
        grouped_field_set: dict[str, Any],
        position_context: Any,
    ) -> Any:
        """Leaves first (no Path, no awaitable checks), then the other fields through
        graphql-core in one call; the response keeps the query's field order."""
        if not self._fast:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        rest: dict[str, Any] = {}
        for response_name, field_details_list in grouped_field_set.items():
            value = self._leaf(parent_type, source_value, field_details_list)
            if value is _SLOW:
                rest[response_name] = field_details_list
                results[response_name] = None  # holds the key's place in the response
            else:
                results[response_name] = value
        if not rest:
            return results
        others = super().execute_fields(parent_type, source_value, path, rest, position_context)
        if self.is_awaitable(others):

            async def merged() -> dict[str, Any]:
                return _merge(results, rest, await others)

            return merged()
        return _merge(results, rest, cast("dict[str, Any]", others))

    def _leaf(self, parent_type: GraphQLObjectType, source: Any, field_details_list: Any) -> Any:
        """The serialized value of a plain leaf field, or _SLOW for graphql-core to do."""
        name = field_details_list[0].node.name.value
        key = (parent_type, name)
        plans = self._plans
        if key in plans:
            plan = plans[key]
        else:
            plan = plans[key] = _plan_for(self.schema, parent_type, name)
        if plan is None:
            return _SLOW
        value = plan.read(source, plan.python_name)
        if value is None:
            return None if plan.nullable else _SLOW
        if isinstance(value, Exception):
            return _SLOW
        try:
            coerced = plan.serialize(value)
        except Exception:  # graphql-core reports it on the slow path
            return _SLOW
        # Null (maybe on a non-null field), or a serializer error: graphql-core's own path
        # decides and reports, exactly as without this context.
        return _SLOW if coerced is None or coerced is Undefined else coerced


def _merge(results: dict[str, Any], rest: dict[str, Any], others: dict[str, Any]) -> dict[str, Any]:
    for response_name in rest:
        if response_name in others:
            results[response_name] = others[response_name]
        else:  # graphql-core left it out (a field the type does not have)
            del results[response_name]
    return results


def _plan_for(schema: GraphQLSchema, parent_type: GraphQLObjectType, name: str) -> LeafPlan | None:
    field_def = schema.get_field(parent_type, name)
    return leaf_plan(field_def) if field_def is not None else None


# --- lean resolvers for argument-free relation fields -----------------------------------
#
# A resolver field such as Order.customer or OrderItem.product (sync, no arguments, no
# permission classes or field extensions) is called by Strawberry through its generic
# wrapper: a Strawberry Info, argument conversion, an (empty) extension chain, get_result.
# After the prefetch these fields only return a record already in hand, so that wrapper was
# most of their cost. `install_lean_resolvers` gives such fields a resolver that builds the
# Info and calls the function directly; fields with arguments, extensions, async resolvers
# or any other reserved parameter keep Strawberry's.


def lean_resolver(definition: Any, info_class: type[Any]) -> Callable[..., Any] | None:
    """A direct resolver for `definition` (a StrawberryField), or None if it needs more."""
    base = definition.base_resolver
    if (
        base is None
        or definition.extensions
        or definition.arguments
        or definition.is_async
        or base.self_parameter is None
        or base.root_parameter is not None
        or base.parent_parameter is not None
    ):
        return None
    func = base._unbound_wrapped_func
    info_param = base.info_parameter
    if info_param is None:

        def lean_without_info(source: Any, _info: Any) -> Any:
            return func(source)

        return lean_without_info
    info_name = info_param.name

    def lean(source: Any, info: Any) -> Any:
        return func(source, **{info_name: info_class(_raw_info=info, _field=definition)})

    return lean


def install_lean_resolvers(schema: Any) -> int:
    """Swap in lean resolvers on a built Strawberry schema; returns how many fields got one.
    Nothing changes when the schema has exception handlers (their wrapper must stay)."""
    converter = schema.schema_converter
    if getattr(converter, "_exception_handler_specs", ()):
        return 0
    info_class = schema.config.info_class
    count = 0
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        if graphql_type.name in {"Query", "Mutation", "Subscription"}:
            continue  # root fields run once per operation: nothing to win
        for field_def in graphql_type.fields.values():
            definition = (field_def.extensions or {}).get(_DEFINITION)
            if definition is None or getattr(field_def.resolve, "__name__", "") != "_resolver":
                continue
            lean = lean_resolver(definition, info_class)
            if lean is not None:
                field_def.resolve = lean
                count += 1
    return count
