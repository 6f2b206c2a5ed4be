"""Access tokens whose signature and claims this worker has verified, until they expire.

A client sends the same access token on every request for its whole life (15 minutes by
default), and checking its signature and claims with PyJWT cost ~0.1 ms per request, twice
(the rate limiter reads `sub`, authentication the rest): a large share of an operation-cache
hit. A token's verification cannot change its outcome before `exp` (the signature, issuer,
audience and the claims are in the token; the keys and rules are in the entry's key), so
the verified claims are remembered until `exp` plus the leeway, when the full check runs
again and refuses it. Whether the session behind the token is still live is NOT remembered
here: that is `sessions.check_session`'s short-lived, revocation-aware check.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any

MAX_ENTRIES = 4096


class VerifiedTokens:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        # (token, rules) -> (valid until, claims, keys). The rules name the verifying keys by
        # id (key objects need not be hashable); the entry holds the keys themselves, so that
        # id cannot be reused by other keys while the entry lives.
        self._entries: dict[tuple[str, Hashable], tuple[float, dict[str, Any], object]] = {}

    def get(self, token: str, rules: Hashable) -> dict[str, Any] | None:
        entry = self._entries.get((token, rules))
        if entry is None:
            return None
        if entry[0] <= time.time():
            self._entries.pop((token, rules), None)
            return None
        return dict(entry[1])  # a copy: callers may not change what others will read

    def put(
        self, token: str, rules: Hashable, claims: dict[str, Any], leeway: float, keys: object
    ) -> None:
        exp = claims.get("exp")
        if not isinstance(exp, int | float):
            return
        if len(self._entries) >= self.max_entries:
            now = time.time()
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            while len(self._entries) >= self.max_entries:  # oldest first
                del self._entries[next(iter(self._entries))]
        self._entries[(token, rules)] = (float(exp) + leeway, dict(claims), keys)

    def clear(self) -> None:
        self._entries.clear()


VERIFIED = VerifiedTokens()
