"""Verified access-token claims are remembered per worker until `exp` plus the leeway
(alawael.auth.verified_tokens): never longer, and never for other keys or rules."""

from __future__ import annotations

import time

import jwt
import pytest

from alawael.auth.permissions import Role
from alawael.auth.tokens import decode_access_token, issue_access_token
from alawael.auth.verified_tokens import VerifiedTokens
from alawael.config import Settings
from alawael.shared.errors import Unauthenticated
from tests.conftest import make_settings


def test_a_verified_token_is_not_checked_again_until_it_expires(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = issue_access_token(settings, user_id="u1", role=Role.STAFF, session_id="s1")
    first = decode_access_token(settings, token)

    def no_second_check(*_: object, **__: object) -> None:
        raise AssertionError("verified again")

    monkeypatch.setattr(jwt, "decode", no_second_check)
    again = decode_access_token(settings, token)
    assert again == first
    again["sub"] = "someone else"  # a caller's change never reaches the next caller
    assert decode_access_token(settings, token)["sub"] == "u1"


def test_other_keys_or_rules_never_accept_a_remembered_token(
    settings: Settings, mongo_uri: str
) -> None:
    token = issue_access_token(settings, user_id="u1", role=Role.STAFF, session_id="s1")
    decode_access_token(settings, token)
    other_secret = make_settings(mongo_uri, jwt_secret="another-secret-" + "x" * 40)
    with pytest.raises(Unauthenticated):
        decode_access_token(other_secret, token)
    other_audience = settings.model_copy(update={"jwt_audience": "someone-else"})
    with pytest.raises(Unauthenticated):
        decode_access_token(other_audience, token)


def test_an_entry_lapses_at_exp_plus_leeway(monkeypatch: pytest.MonkeyPatch) -> None:
    remembered = VerifiedTokens()
    now = time.time()
    remembered.put("t", "rules", {"sub": "u1", "exp": int(now) + 100}, 10, keys=object())
    monkeypatch.setattr("alawael.auth.verified_tokens.time.time", lambda: int(now) + 109.5)
    assert remembered.get("t", "rules") == {"sub": "u1", "exp": int(now) + 100}
    monkeypatch.setattr("alawael.auth.verified_tokens.time.time", lambda: int(now) + 110)
    assert remembered.get("t", "rules") is None


def test_an_expired_token_is_refused_by_the_full_check(settings: Settings) -> None:
    # Issued long enough ago that exp + leeway has passed: the full check runs and refuses.
    issued = time.time() - settings.access_token_ttl_seconds - settings.jwt_leeway_seconds - 5
    token = issue_access_token(settings, user_id="u1", role=Role.STAFF, session_id="s1", now=issued)
    with pytest.raises(Unauthenticated, match="expired"):
        decode_access_token(settings, token)


def test_the_memory_is_bounded() -> None:
    remembered = VerifiedTokens(max_entries=3)
    exp = int(time.time()) + 600
    for i in range(5):
        remembered.put(f"t{i}", "rules", {"exp": exp}, 0, keys=object())
    assert [remembered.get(f"t{i}", "rules") is not None for i in range(5)] == [
        False,
        False,
        True,
        True,
        True,
    ]
