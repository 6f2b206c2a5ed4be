"""Account-flow test helpers: an app whose mail goes to a real local SMTP server, and
GraphQL / REST sign-in shortcuts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.infra.mail import Mailer, mailer_of
from alawael.server import create_app
from alawael.services import users
from alawael.shared.locale import Locale
from tests.conftest import make_settings

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
LOGIN = """
mutation ($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { accessToken refreshToken errors { code } }
}"""
REFRESH = "mutation ($t: String!) { refreshToken(refreshToken: $t) { accessToken } }"
ME = "{ me { email name phone locale } }"


@dataclass
class Env:
    client: httpx.AsyncClient
    res: Resources

    @property
    def mailer(self) -> Mailer:
        mailer = mailer_of(self.res)
        assert mailer is not None
        return mailer

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def login(self, email: str, password: str = PASSWORD) -> tuple[str, str]:
        """(access token, refresh token) of a new session."""
        body = await self.gql(LOGIN, {"email": email, "password": password})
        data = body["data"]["login"]
        assert data["accessToken"], body
        return data["accessToken"], data["refreshToken"]

    async def add_user(
        self, email: str, *, role: Role = Role.CUSTOMER, locale: Locale = Locale.EN
    ) -> None:
        doc = await users.create_user(
            self.res, None, email=email, password=PASSWORD, name="Sara Ali", role=role
        )
        await self.res.db.users.update_one({"_id": doc.id}, {"$set": {"locale": locale}})


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


@contextlib.asynccontextmanager
async def accounts_env(mongo_uri: str, smtp_port: int, **overrides: Any) -> AsyncIterator[Env]:
    """The whole app in-process, mailing to 127.0.0.1:`smtp_port` with quick retries."""
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_starttls": False,
        "smtp_timeout_seconds": 2.0,
        "mail_retry_base_seconds": 0.05,
        "mail_max_attempts": 12,
        # Every request re-reads its session, as another worker would after 2 s.
        "session_check_ttl_seconds": 0,
        "public_app_url": "https://erp.example.com",
    }
    values.update(overrides)
    settings = make_settings(mongo_uri, **values)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        res: Resources = app.state.resources
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield Env(c, res)
        await res.client.drop_database(settings.mongodb_db)
