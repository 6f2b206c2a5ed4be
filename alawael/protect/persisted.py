"""Automatic persisted queries (Apollo's APQ protocol) and the optional safelist.

APQ: the client sends `extensions.persistedQuery = {version: 1, sha256Hash}`.
- hash without query: the stored document runs, or the error PERSISTED_QUERY_NOT_FOUND
  (message "PersistedQueryNotFound") tells the client to send the query along;
- hash with query: the hash is verified, the document stored (Redis `apq:<hash>` for a day,
  shared by every worker; in-process LRU without Redis) and run.
Safelist (GRAPHQL_SAFELIST_ONLY): only documents in GRAPHQL_SAFELIST_FILE may run, by hash
or by exact text; anything else is PERSISTED_QUERY_NOT_ALLOWED, and APQ registration is off.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alawael.config import Settings
from alawael.infra.cache_redis import REDIS_ERRORS
from alawael.shared.errors import AppError, BadUserInput, ErrorCode

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

APQ_PREFIX = "apq:"
APQ_TTL_SECONDS = 86_400
MEMORY_ENTRIES = 1_000


class PersistedQueryNotFound(AppError):
    code = ErrorCode.PERSISTED_QUERY_NOT_FOUND

    def __init__(self) -> None:
        # Apollo clients match on this exact message.
        super().__init__("PersistedQueryNotFound")


class PersistedQueryNotAllowed(AppError):
    code = ErrorCode.PERSISTED_QUERY_NOT_ALLOWED

    def __init__(self) -> None:
        super().__init__("Only registered (safelisted) operations may run on this server.")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_safelist(path: Path) -> dict[str, str]:
    """{sha256: document} from a JSON object of that shape or a list of documents."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, list):
        return {sha256_hex(doc): doc for doc in data if isinstance(doc, str)}
    if isinstance(data, dict):
        out: dict[str, str] = {}
        for digest, doc in data.items():
            if not isinstance(doc, str) or sha256_hex(doc) != digest.lower():
                raise ValueError(f"safelist entry {digest[:12]}... does not match its document")
            out[digest.lower()] = doc
        return out
    raise ValueError("GRAPHQL_SAFELIST_FILE must hold a JSON object or list")


class PersistedQueries:
    def __init__(self, settings: Settings, redis: Redis | None) -> None:
        self.redis = redis
        self.safelist_only = settings.graphql_safelist_only
        self.safelist: dict[str, str] = (
            load_safelist(settings.graphql_safelist_file) if settings.graphql_safelist_file else {}
        )
        self._memory: OrderedDict[str, str] = OrderedDict()

    async def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The document to run for this request, or an AppError explaining why none may."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if self.safelist_only and (query is None or sha256_hex(query) not in self.safelist):
                raise PersistedQueryNotAllowed()
            return query
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise BadUserInput("Unsupported persisted query version (only 1 is supported).")
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or len(digest) != 64:
            raise BadUserInput("persistedQuery.sha256Hash must be a SHA-256 hex digest.")
        digest = digest.lower()
        if query is None:
            if digest in self.safelist:
                return self.safelist[digest]
            if self.safelist_only:
                raise PersistedQueryNotAllowed()
            stored = await self._get(digest)
            if stored is None:
                raise PersistedQueryNotFound()
            return stored
        if sha256_hex(query) != digest:
            raise BadUserInput("provided sha does not match query", field="sha256Hash")
        if self.safelist_only:
            if digest not in self.safelist:
                raise PersistedQueryNotAllowed()
            return query
        await self._put(digest, query)
        return query

    async def _get(self, digest: str) -> str | None:
        if digest in self._memory:
            self._memory.move_to_end(digest)
            return self._memory[digest]
        if self.redis is None:
            return None
        try:
            raw = await self.redis.get(APQ_PREFIX + digest)
        except REDIS_ERRORS as exc:
            log.warning("APQ lookup failed (%s); asking the client for the query", exc)
            return None
        if raw is None:
            return None
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        self._remember(digest, text)
        return text

    async def _put(self, digest: str, query: str) -> None:
        if digest in self._memory:
            return
        self._remember(digest, query)
        if self.redis is not None:
            try:
                await self.redis.set(APQ_PREFIX + digest, query, ex=APQ_TTL_SECONDS)
            except REDIS_ERRORS as exc:
                log.warning("APQ store failed (%s); the query still runs", exc)

    def _remember(self, digest: str, query: str) -> None:
        # A bounded local copy: popular documents skip the Redis round trip.
        self._memory[digest] = query
        if len(self._memory) > MEMORY_ENTRIES:
            self._memory.popitem(last=False)
