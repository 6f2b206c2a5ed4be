"""GraphQL limits: depth, aliases, tokens, cost; introspection off in production.

Everything here is built ONCE per schema (`schema_extensions(settings)`): the validation rule
classes are created once and added with `AddValidationRules`, so the rules tuple is the same
object set on every request and strawberry's `ValidationCache` hits (strawberry#4635: rules
built per request through lambdas make every lookup a miss). `ParserCache` and
`ValidationCache` are shared LRU caches keyed by document text / document + rules.

Depth is the number of fields on the longest path, the leaf included (`{ a { b } }` is 2);
introspection fields are not counted.

Cost needs the variables (`first: $n`), which validation never sees, so it is computed just
before execution by `QueryCost` (an AST walk with the schema's types, memoized per fragment)
and reported on every response as `extensions.cost = {requested, limit}`:
- every field costs 1;
- a field with `first`/`last` multiplies its children's cost by that number (the default
  page size when absent); the connection's own `edges`/`nodes` lists are not counted twice;
- any other list field multiplies its children by `DEFAULT_LIST_SIZE`;
- introspection fields (`__schema`, `__type`, `__typename`) are free.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
)
from graphql import (
    ExecutionResult as GraphQLExecutionResult,
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)

from alawael.config import Settings
from alawael.services.pagination import DEFAULT_PAGE_SIZE
from alawael.shared.errors import ErrorCode

DEFAULT_LIST_SIZE = DEFAULT_PAGE_SIZE
CACHE_SIZE = 256
_CONNECTION_LISTS = frozenset({"edges", "nodes"})


def _limit(settings: Settings | None, name: str) -> Any:
    if settings is not None:
        return getattr(settings, name)
    return Settings.model_fields[name].default


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _too_complex(message: str, node: Any = None, **details: Any) -> GraphQLError:
    return GraphQLError(
        message, node, extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value, **details}
    )


# --- depth and aliases (validation rules, one class per limit value) --------------------
class _Measure:
    """Depth and alias count of a selection set, memoized per fragment (a fragment spread
    many times is walked once, so crafted documents cannot make this exponential)."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.memo: dict[str, tuple[int, int]] = {}
        self.active: set[str] = set()

    def measure(self, selection_set: SelectionSetNode | None) -> tuple[int, int]:
        if selection_set is None:
            return 0, 0
        depth = aliases = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                if sel.name.value.startswith("__"):
                    continue  # introspection: bounded by the schema, and off in production
                d, a = self.measure(sel.selection_set)
                depth = max(depth, d + 1)
                aliases += a + (1 if sel.alias else 0)
            elif isinstance(sel, InlineFragmentNode):
                d, a = self.measure(sel.selection_set)
                depth, aliases = max(depth, d), aliases + a
            elif isinstance(sel, FragmentSpreadNode):
                d, a = self.spread(sel.name.value)
                depth, aliases = max(depth, d), aliases + a
        return depth, aliases

    def spread(self, name: str) -> tuple[int, int]:
        if name in self.memo:
            return self.memo[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self.active:
            return 0, 0  # unknown or cyclic: other validation rules report it
        self.active.add(name)
        result = self.measure(fragment.selection_set)
        self.active.discard(name)
        self.memo[name] = result
        return result


def depth_and_alias_rule(max_depth: int, max_aliases: int) -> type[ASTValidationRule]:
    class QueryShapeLimits(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth, aliases = _Measure(_fragments(self.context.document)).measure(node.selection_set)
            if depth > max_depth:
                self.report_error(
                    _too_complex(
                        f"Query depth {depth} exceeds the limit of {max_depth}.",
                        node,
                        depth=depth,
                        maxDepth=max_depth,
                    )
                )
            if aliases > max_aliases:
                self.report_error(
                    _too_complex(
                        f"{aliases} aliases exceed the limit of {max_aliases}.",
                        node,
                        aliases=aliases,
                        maxAliases=max_aliases,
                    )
                )

    return QueryShapeLimits


# --- cost (an extension: it needs the variables) ---------------------------------------
def _named(type_: Any) -> tuple[Any, bool]:
    """(named type, is a list) of a field's output type."""
    is_list = False
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        if isinstance(type_, GraphQLList):
            is_list = True
        type_ = type_.of_type
    return type_, is_list


class _Cost:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.memo: dict[str, int] = {}

    def page_size(self, field: FieldNode) -> int | None:
        for arg in field.arguments or ():
            if arg.name.value not in ("first", "last"):
                continue
            value = arg.value
            if isinstance(value, IntValueNode):
                return max(int(value.value), 0)
            if isinstance(value, VariableNode):
                raw = self.variables.get(value.name.value)
                return max(raw, 0) if isinstance(raw, int) else DEFAULT_PAGE_SIZE
            return DEFAULT_PAGE_SIZE
        return None

    def selection(
        self, parent: Any, selection_set: SelectionSetNode | None, in_connection: bool = False
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                total += self.field(parent, sel, in_connection)
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition
                target = self.schema.get_type(cond.name.value) if cond else parent
                total += self.selection(target, sel.selection_set, in_connection)
            elif isinstance(sel, FragmentSpreadNode):
                total += self.spread(sel.name.value)
        return total

    def field(self, parent: Any, node: FieldNode, in_connection: bool) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        definition = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(name)
        if definition is None:
            return 1
        target, is_list = _named(definition.type)
        page = self.page_size(node)
        if page is not None:
            return 1 + page * self.selection(target, node.selection_set, in_connection=True)
        children = self.selection(target, node.selection_set)
        if is_list and not (in_connection and name in _CONNECTION_LISTS):
            return 1 + DEFAULT_LIST_SIZE * children
        return 1 + children

    def spread(self, name: str) -> int:
        if name not in self.memo:
            fragment = self.fragments.get(name)
            self.memo[name] = 0  # guards cycles (validation reports them)
            if fragment is not None:
                target = self.schema.get_type(fragment.type_condition.name.value)
                self.memo[name] = self.selection(target, fragment.selection_set)
        return self.memo[name]


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
) -> int:
    root = schema.get_root_type(operation.operation)
    return _Cost(schema, _fragments(document), variables or {}).selection(
        root, operation.selection_set
    )


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return ops[0] if len(ops) == 1 else None
    return next((op for op in ops if op.name is not None and op.name.value == name), None)


class QueryCost(SchemaExtension):
    max_cost = 0  # set on the subclass built by `cost_extension`

    def __init__(self) -> None:
        self.requested: int | None = None

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        operation = _operation(document, ctx.operation_name) if document else None
        if document is not None and operation is not None:
            self.requested = query_cost(ctx.schema._schema, document, operation, ctx.variables)
            if self.requested > self.max_cost and ctx.result is None:
                # Setting the result before execution makes strawberry skip executing.
                ctx.result = GraphQLExecutionResult(
                    data=None,
                    errors=[
                        _too_complex(
                            f"Query cost {self.requested} exceeds the limit of "
                            f"{self.max_cost}; ask for smaller pages (first/last).",
                            operation,
                            cost=self.requested,
                            maxCost=self.max_cost,
                        )
                    ],
                )
        yield

    def get_results(self) -> dict[str, Any]:
        if self.requested is None:
            return {}
        return {"cost": {"requested": self.requested, "limit": self.max_cost}}


def cost_extension(max_cost: int) -> type[QueryCost]:
    return type("BoundQueryCost", (QueryCost,), {"max_cost": max_cost})


class SafeParserCache(ParserCache):
    """ParserCache whose syntax errors surface where strawberry expects them: raised from
    the extension hook they would escape the operation (and ShapeErrors' error codes), so
    on a bad document we leave parsing, and the error report, to strawberry itself. Errors
    are never cached by the LRU anyway."""

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        try:
            ctx.graphql_document = self.cached_parse_document(ctx.query, **ctx.parse_options)
        except GraphQLError:
            ctx.graphql_document = None
        yield


# --- the list handed to strawberry.Schema ------------------------------------------------
def validation_rules(
    settings: Settings | None, *, production: bool
) -> list[type[ASTValidationRule]]:
    rules: list[type[ASTValidationRule]] = [
        depth_and_alias_rule(
            _limit(settings, "graphql_max_depth"), _limit(settings, "graphql_max_aliases")
        )
    ]
    if production:
        rules.append(NoSchemaIntrospectionCustomRule)
    return rules


def schema_extensions(
    settings: Settings | None, *, production: bool
) -> list[Callable[[], SchemaExtension] | type[SchemaExtension]]:
    rules = validation_rules(settings, production=production)  # built once, reused
    max_tokens = int(_limit(settings, "graphql_max_tokens"))
    return [
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: SafeParserCache(maxsize=CACHE_SIZE),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
        cost_extension(int(_limit(settings, "graphql_max_cost"))),
    ]
