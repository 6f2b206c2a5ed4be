"""Declared permissions for fields: `permission_classes=[HasPermission(Permission.X)]`.

The checks are synchronous on purpose: async permission classes on hot list fields cost
2.7x on a 5,000-item list (the actor is resolved once per request, before execution).
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from alawael.auth.permissions import Permission


def _unauthenticated(permission: BasePermission, info: Info) -> bool:
    """Set the UNAUTHENTICATED message: the bad token's own reason when one was sent
    (Context.auth_error, e.g. "Access token expired"), else "Authentication required."."""
    error = getattr(info.context, "auth_error", None)
    permission.message = error.message if error is not None else "Authentication required."
    permission.error_extensions = {"code": "UNAUTHENTICATED"}
    return False


class IsAuthenticated(BasePermission):
    message = "Authentication required."
    error_extensions = {"code": "UNAUTHENTICATED"}
    # The answer is the same for every user of a role: subscription renders may be shared
    # by a role (alawael.realtime.render_purity).
    depends_on_role_only = True

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.user is None:
            return _unauthenticated(self, info)
        return True


_cache: dict[Permission, type[BasePermission]] = {}


def HasPermission(permission: Permission) -> type[BasePermission]:
    """A permission class requiring `permission`; UNAUTHENTICATED when nobody is logged in,
    FORBIDDEN (naming the permission) when the role lacks it."""
    if permission in _cache:
        return _cache[permission]

    class _Has(BasePermission):
        message = f"Missing permission: {permission.value}"
        error_extensions = {"code": "FORBIDDEN", "permission": permission.value}
        depends_on_role_only = True  # see IsAuthenticated

        def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
            user = info.context.user
            if user is None:
                return _unauthenticated(self, info)
            self.message = f"Missing permission: {permission.value}"
            self.error_extensions = {"code": "FORBIDDEN", "permission": permission.value}
            return bool(user.can(permission))

    _Has.__name__ = f"Has_{permission.name}"
    _cache[permission] = _Has
    return _Has
