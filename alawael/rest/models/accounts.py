"""REST models of sign-in and users."""

from __future__ import annotations

from pydantic import (
    Field,
)

from alawael.auth.permissions import Role
from alawael.records.users import UserRecord
from alawael.rest.models.common import (
    Body,
    Out,
    PageQuery,
    Timestamp,
)
from alawael.services.search import HELP as SEARCH_HELP
from alawael.shared.ids import to_global_id
from alawael.shared.locale import Locale

# --- auth ------------------------------------------------------------------------------


class RegisterBody(Body):
    email: str = Field(max_length=254)
    password: str = Field(
        max_length=1024, description="At least 10 characters, not containing the email."
    )
    name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=40)


class LoginBody(Body):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class RefreshBody(Body):
    refresh_token: str = Field(max_length=512, description="Single-use; rotated on each call.")


class UserOut(Out):
    id: str
    email: str
    name: str
    phone: str | None
    role: Role
    active: bool
    created_at: Timestamp
    locale: Locale = Field(description="Language of the mails sent to this user.")

    @classmethod
    def from_record(cls, u: UserRecord) -> UserOut:
        return cls(
            id=to_global_id("User", u.id),
            email=u.email,
            name=u.name,
            phone=u.phone,
            role=u.role,
            active=u.active,
            created_at=u.created_at,
            locale=u.locale,
        )


class TokensOut(Out):
    user: UserOut
    access_token: str = Field(description="Send as `Authorization: Bearer <accessToken>`.")
    refresh_token: str = Field(description="Opaque and single-use.")
    token_type: str = "Bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")


class LogoutOut(Out):
    revoked: bool


# --- users -----------------------------------------------------------------------------


class UserListQuery(PageQuery):
    role: Role | None = None
    search: str | None = Field(
        default=None, max_length=100, description=SEARCH_HELP.format(fields="name or email")
    )
    active: bool | None = None
