"""Which subscription selections may be rendered once for a whole render scope.

A render scope is the feed's visibility scope plus the role (alawael.realtime.shared_render).
A selection qualifies only if every field in it depends on nothing but its parent value and
that scope: plain data fields, the introspection meta fields, permission checks on the role
alone, and the resolver fields listed in `SCOPE_PURE_RESOLVERS`. Anything else (say
`customer { notifications }`, which depends on *who* asks) is rendered per subscriber. When
in doubt: not shared.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from graphql import (
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    visit,
)
from graphql.language import FieldNode

# Resolver fields whose value depends only on the parent object and the render scope
# (feed scope + role): a new entry needs that argument made in review, next to its rule.
SCOPE_PURE_RESOLVERS = frozenset(
    {
        # Loads the order's customer by id; who may see the order was decided by the feed.
        "Order.customer",
        # Loads the product by id (archived ones too, for everybody).
        "OrderItem.product",
        # `orders.may_see_editor`: staff (a role) see it; a customer only their own change,
        # and customers never share a scope with anybody else.
        "StatusChange.by",
        # Staff (a role) see any user's orders; a customer gets their own (scope of one).
        "User.orders",
    }
)


def _field_is_pure(parent: Any, field_def: Any, name: str) -> bool:
    if name.startswith("__"):
        return True  # __typename: the type, nothing else
    if field_def is None:
        return False
    definition = field_def.extensions.get("strawberry-definition")
    if definition is None:
        return False
    permissions = getattr(definition, "permission_classes", None) or ()
    # Permission classes marked as depending on the role alone (alawael.schema.permissions);
    # the role is part of the render scope.
    if any(not getattr(p, "depends_on_role_only", False) for p in permissions):
        return False
    if definition.base_resolver is None:
        return True
    return f"{parent.name}.{name}" in SCOPE_PURE_RESOLVERS


class _PurityCheck(Visitor):
    def __init__(self, type_info: TypeInfo, schema: GraphQLSchema) -> None:
        super().__init__()
        self.type_info = type_info
        self.root = schema.subscription_type
        self.pure = True

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        parent = self.type_info.get_parent_type()
        if parent is None or parent is self.root:
            # The subscription field itself: the feed opted in by marking its values.
            return
        if not _field_is_pure(parent, self.type_info.get_field_def(), node.name.value):
            self.pure = False


@lru_cache(maxsize=512)
def shareable(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: tuple[FragmentDefinitionNode, ...],
) -> bool:
    """May subscribers in one render scope share this selection's result? (see module doc)"""
    if operation.operation is not OperationType.SUBSCRIPTION:
        return False
    for node in (operation, *fragments):
        type_info = TypeInfo(schema)
        check = _PurityCheck(type_info, schema)
        visit(node, TypeInfoVisitor(type_info, check))
        if not check.pure:
            return False
    return True
