"""The OpenAPI 3.1 document, built from the endpoint declarations and the pydantic models'
JSON Schemas (OpenAPI 3.1 speaks JSON Schema 2020-12, which is what pydantic emits).

Served at GET /api/openapi.json; /api/docs renders the same document as HTML.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse

from alawael import __version__
from alawael.auth.permissions import Permission
from alawael.rest.models import ErrorBody, HealthOut, LiveOut, PageMeta, ReadyOut
from alawael.rest.routing import Endpoint

REF = "#/components/schemas/{model}"
_TEMPLATE_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")
JSON = "application/json"

DESCRIPTION = """\
The legacy REST interface of the AlAwael ERP API. It calls the same services as the GraphQL
API at `/graphql` (also served at `/api/graphql`), so both always agree; ids are the same
Relay global ids in both. Ids sent in paths and bodies may also be raw 24-hex MongoDB
ObjectIds (what the old Node API returned).

**Success**: `{"data": <resource>}`; lists: `{"data": [...], "meta": {"limit", "hasMore",
"nextCursor"}}`. Health endpoints return their bare status bodies (for probes).

**Errors**: `{"error": {"code", "message", "details"}}` with the HTTP status: 400 malformed
JSON, 401 missing/invalid/expired token (or wrong credentials), 403 missing permission,
404 unknown resource (also a malformed id, or an id of another type), 405 wrong method,
409 conflict (duplicate, insufficient stock, invalid status change, idempotency key reused
for another request), 413 body too large, 415 body not JSON, 422 invalid input
(`details.fields` lists every invalid field), 429 rate limited (`Retry-After`),
503 database unavailable. A 500 carries only `details.requestId`, never a stack trace.

**Auth**: `Authorization: Bearer <accessToken>` from `/api/auth/login` or
`/api/auth/register`; renew it with `/api/auth/refresh`.

**Pagination**: keyset cursors. Pass `limit` (1-100, default 20); when `meta.hasMore` is
true, pass `meta.nextCursor` as `cursor` for the next page. Cursors are the GraphQL
connection's cursors.

**Values**: money is a decimal string (`"12.50"`), never a number; datetimes are ISO 8601
in UTC; names are camelCase. Request bodies are strict: unknown fields and wrongly typed
values are refused (422), nothing is coerced.
"""

_STATUS_TEXT = {
    400: "Malformed JSON body.",
    401: "Missing, invalid or expired credentials.",
    403: "The caller lacks the permission.",
    404: "No such resource (or a malformed id).",
    409: "Conflict with the current state.",
    413: "Request body too large.",
    415: "The body is not JSON.",
    422: "Invalid input; `details.fields` lists the invalid fields.",
    429: "Rate limited; see `Retry-After`.",
    500: "Unexpected error; quote `details.requestId`.",
    503: "The database is unavailable; retry shortly.",
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _drop_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`X | None` query parameters: absence is the null, so the schema is just X."""
    options = schema.get("anyOf")
    if isinstance(options, list):
        rest = [option for option in options if option != {"type": "null"}]
        if len(rest) == 1:
            out = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
            return {**rest[0], **out}
    return {k: v for k, v in schema.items() if not (k == "default" and v is None)}


def _components(endpoints: Sequence[Endpoint]) -> tuple[dict[str, Any], set[str]]:
    """All models' schemas; returns (schemas, names of query models to leave out)."""
    inputs: set[type[BaseModel]] = set()
    outputs: set[type[BaseModel]] = {ErrorBody, PageMeta, HealthOut, LiveOut, ReadyOut}
    for ep in endpoints:
        outputs.add(ep.response)
        for model in (ep.query, ep.body):
            if model is not None:
                inputs.add(model)
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        *((m, "validation") for m in sorted(inputs, key=lambda m: m.__name__)),
        *((m, "serialization") for m in sorted(outputs, key=lambda m: m.__name__)),
    ]
    _, top = models_json_schema(pairs, ref_template=REF)
    queries = {ep.query.__name__ for ep in endpoints if ep.query is not None}
    return dict(top.get("$defs", {})), queries


def _envelope(ep: Endpoint) -> dict[str, Any]:
    data: dict[str, Any] = _ref(ep.response)
    properties: dict[str, Any] = {"data": {"type": "array", "items": data} if ep.many else data}
    required = ["data"]
    if ep.paged:
        properties["meta"] = _ref(PageMeta)
        required.append("meta")
    return {"type": "object", "required": required, "properties": properties}


def _error_statuses(ep: Endpoint) -> list[int]:
    statuses = {422, 429, 500, 503, *ep.errors}
    if ep.access != "anonymous":
        statuses.add(401)  # also "public" ones: a bad token is refused, not ignored
    if isinstance(ep.access, Permission):
        statuses.add(403)
    if ep.body is not None:
        statuses |= {400, 413, 415}
    if _path_params(ep):
        statuses.add(404)
    return sorted(statuses)


def _security(ep: Endpoint) -> list[dict[str, list[str]]]:
    if ep.access == "anonymous":
        return []
    if ep.access == "public":
        return [{}, {"bearerAuth": []}]  # optional: a token changes what is shown
    return [{"bearerAuth": []}]


def _access_text(ep: Endpoint) -> str:
    if ep.access == "anonymous":
        return "Public (any token is ignored)."
    if ep.access == "public":
        return "Public; a valid bearer token is used if sent, an invalid one is a 401."
    if ep.access == "user":
        return "Any signed-in user."
    return f"Requires the `{ep.access.value}` permission."


def _path_params(ep: Endpoint) -> dict[str, str]:
    """Every `{name}` of the path template, described by the declaration when it says more:
    a path parameter can't be left out of the document by forgetting to declare it (GET
    /api/users/{id} once was, and schemathesis refused the document)."""
    names = _TEMPLATE_PARAM.findall(ep.path)
    return {name: ep.path_params.get(name, f"The `{name}` of the resource.") for name in names}


def _parameters(ep: Endpoint, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": text,
            "schema": {"type": "string", "minLength": 1},
        }
        for name, text in _path_params(ep).items()
    ]
    if ep.query is not None:
        query = schemas[ep.query.__name__]
        required = set(query.get("required", []))
        for name, prop in query.get("properties", {}).items():
            schema = _drop_null(dict(prop))
            param: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": schema,
            }
            if "description" in schema:
                param["description"] = schema["description"]
            params.append(param)
    for header in ep.headers:
        params.append(
            {
                "name": header.name,
                "in": "header",
                "required": False,
                "description": header.description,
                "schema": {"type": "string", "minLength": 1, "maxLength": header.max_length},
            }
        )
    return params


def _operation(ep: Endpoint, schemas: dict[str, Any]) -> dict[str, Any]:
    error = {"content": {JSON: {"schema": _ref(ErrorBody)}}}
    responses: dict[str, Any] = {
        str(ep.status): {
            "description": "Success.",
            "content": {JSON: {"schema": _envelope(ep)}},
        }
    }
    for status in _error_statuses(ep):
        responses[str(status)] = {"description": _STATUS_TEXT[status], **error}
    description = (ep.description.strip() + "\n\n" if ep.description else "") + _access_text(ep)
    op: dict[str, Any] = {
        "operationId": ep.operation_id,
        "summary": ep.summary,
        "description": description,
        "tags": [ep.tag],
        "security": _security(ep),
        "parameters": _parameters(ep, schemas),
        "responses": responses,
    }
    if ep.body is not None:
        op["requestBody"] = {
            "required": ep.body_required,
            "content": {JSON: {"schema": _ref(ep.body)}},
        }
    return op


def _health_paths() -> dict[str, Any]:
    def op(op_id: str, summary: str, model: type[BaseModel], extra: int | None) -> Any:
        body = {"content": {JSON: {"schema": _ref(model)}}}
        responses: dict[str, Any] = {"200": {"description": "Answering.", **body}}
        if extra is not None:
            responses[str(extra)] = {"description": "A dependency does not answer.", **body}
        return {
            "get": {
                "operationId": op_id,
                "summary": summary,
                "tags": ["Health"],
                "security": [],
                "responses": responses,
            }
        }

    status = (
        "Status, version, uptime and dependency states; 503 (same body) while MongoDB does "
        "not answer: the load balancer check"
    )
    return {
        "/api/health": op("health", status, HealthOut, 503),
        "/health": op("healthAlias", status + "; same as /api/health", HealthOut, 503),
        "/healthz": op("liveness", "Liveness: the process answers", LiveOut, None),
        "/readyz": op("readiness", "Readiness: 503 while a dependency is down", ReadyOut, 503),
    }


def build_document(endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    schemas, queries = _components(endpoints)
    paths: dict[str, Any] = {}
    for ep in endpoints:
        paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep, schemas)
    paths.update(_health_paths())
    tags: list[str] = list(dict.fromkeys(ep.tag for ep in endpoints))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AlAwael ERP REST API",
            "version": __version__,
            "description": DESCRIPTION,
        },
        "tags": [{"name": tag} for tag in [*tags, "Health"]],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": {k: v for k, v in sorted(schemas.items()) if k not in queries},
        },
    }


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    """The document for the declared endpoints (built once: declarations are static)."""
    from alawael.rest.endpoints import ENDPOINTS as declared  # declares every endpoint

    return build_document(declared)


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(document())
