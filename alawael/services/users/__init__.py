"""Users and their sign-in: registration, login, token refresh, logout, and administration.

GraphQL resolvers, the REST shim and the CLI all call these functions; they hold every rule
(who may see or change whom, the password policy, the last-admin guard, throttling). One
module per concern; this package re-exports the public functions so callers say
`users.register(...)` whichever module holds it.
"""

from alawael.services.users.admin import set_user_active, set_user_role, update_user
from alawael.services.users.directory import (
    UserFilter,
    UserSort,
    can_view_user,
    get_user,
    list_users,
)
from alawael.services.users.signin import (
    INVALID_LOGIN,
    AuthResult,
    authenticate,
    logout,
    logout_all,
    refresh,
    register,
)
from alawael.services.users.signup import (
    AdminEmailTaken,
    create_admin,
    create_user,
    promote_admin,
)
from alawael.services.users.validation import (
    MAX_NAME,
    MAX_SEARCH,
    PUBLIC,
    bump_user,
    normalize_email,
    user_scopes,
    validate_email,
    validate_name,
    validate_phone,
)

__all__ = [
    "INVALID_LOGIN",
    "MAX_NAME",
    "MAX_SEARCH",
    "PUBLIC",
    "AdminEmailTaken",
    "AuthResult",
    "UserFilter",
    "UserSort",
    "authenticate",
    "bump_user",
    "can_view_user",
    "create_admin",
    "create_user",
    "get_user",
    "list_users",
    "logout",
    "logout_all",
    "normalize_email",
    "promote_admin",
    "refresh",
    "register",
    "set_user_active",
    "set_user_role",
    "update_user",
    "user_scopes",
    "validate_email",
    "validate_name",
    "validate_phone",
]
