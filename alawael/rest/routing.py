"""The REST shim's small framework: declared endpoints, one request pipeline, one envelope.

Each endpoint is declared once with `@endpoint(...)`: method, path, who may call it, the
pydantic models of its query string, body and response. The same declaration drives the
request pipeline below and the OpenAPI document, so the two cannot disagree.

Pipeline: caller (bearer token -> Actor; a bad token is 401) -> declared access check (the
one permission table, as GraphQL's `HasPermission`) -> query string and body parsed by the
models (400 malformed JSON, 413 too large, 415 not JSON, 422 invalid) -> the handler calls a
service -> the result is wrapped as `{"data": ...}` or `{"data": [...], "meta": {...}}`.
Errors are raised, never returned, and become `{"error": {...}}` in alawael.rest.errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import orjson
from bson import ObjectId
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from alawael.auth.current import actor_from_token, bearer_token, client_ip
from alawael.auth.permissions import Actor, Permission
from alawael.infra.resources import Resources
from alawael.protect.injection import reject_operators
from alawael.rest.errors import unexpected_error_handler
from alawael.rest.ids import parse_id
from alawael.rest.models import PageMeta, PageQuery
from alawael.services.pagination import Page, PageArgs
from alawael.shared.errors import (
    AppError,
    BadUserInput,
    ErrorCode,
    Forbidden,
    NotFound,
    Unauthenticated,
)

# Who may call: "anonymous" endpoints ignore any token (login, refresh: a stale access
# token must not block getting a new one); "public" ones use a good token (managers see
# archived products) and refuse a bad one; "user" needs any signed-in caller; a Permission
# needs that permission.
Access = Literal["anonymous", "public", "user"] | Permission
M = TypeVar("M", bound=BaseModel)


@dataclass
class Call:
    """What a handler gets: the caller, the parsed input, and the worker's resources."""

    request: Request
    res: Resources
    actor: Actor | None
    path: dict[str, str]
    query: BaseModel | None = None
    body: BaseModel | None = None

    @property
    def request_id(self) -> str | None:
        return getattr(self.request.state, "request_id", None)

    @property
    def client(self) -> dict[str, Any]:
        """Where the request comes from: for login throttling and the session record."""
        return {
            "ip": client_ip(self.request, self.res.settings),
            "user_agent": self.request.headers.get("user-agent"),
            "request_id": self.request_id,
        }

    def query_as(self, model: type[M]) -> M:
        assert isinstance(self.query, model)
        return self.query

    def body_as(self, model: type[M]) -> M:
        assert isinstance(self.body, model)
        return self.body

    def oid(self, type_name: str, param: str = "id") -> ObjectId:
        """The ObjectId behind a global id (or a raw 24-hex ObjectId) in the path. A malformed
        id, or a global id of another type, names no resource: 404, like a well-formed id
        that matches nothing."""
        try:
            return parse_id(self.path[param], type_name, param)
        except BadUserInput as exc:
            raise NotFound(f"No such {type_name.lower()}.", field=param) from exc


@dataclass(frozen=True)
class Paged:
    """A handler's list result: the items and the page they came from."""

    items: Sequence[BaseModel]
    page: Page[Any]
    limit: int

    def meta(self) -> PageMeta:
        return PageMeta(
            limit=self.limit,
            has_more=self.page.has_next_page,
            next_cursor=self.page.end_cursor if self.page.has_next_page else None,
        )


# A handler returns one resource, a page of them, or (short, unpaged lists) a sequence.
Result = BaseModel | Paged | Sequence[BaseModel]
Handler = Callable[[Call], Awaitable[Result]]


@dataclass(frozen=True)
class Header:
    name: str
    description: str
    max_length: int = 255


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    access: Access
    response: type[BaseModel]
    many: bool = False
    status: int = 200
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_required: bool = True
    errors: tuple[int, ...] = ()  # domain statuses beyond the generic ones (404, 409, ...)
    headers: tuple[Header, ...] = ()
    description: str = ""
    path_params: dict[str, str] = field(default_factory=dict)  # name -> description

    @property
    def paged(self) -> bool:
        return self.query is not None and issubclass(self.query, PageQuery)

    @property
    def operation_id(self) -> str:
        first, *rest = self.handler.__name__.split("_")
        return first + "".join(part.title() for part in rest)


ENDPOINTS: list[Endpoint] = []


def endpoint(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    access: Access,
    response: type[BaseModel],
    **options: Any,
) -> Callable[[Handler], Handler]:
    """Declare a handler as an endpoint (see `Endpoint` for the options)."""

    def register(handler: Handler) -> Handler:
        ENDPOINTS.append(
            Endpoint(
                method=method,
                path=path,
                handler=handler,
                summary=summary,
                tag=tag,
                access=access,
                response=response,
                description=options.pop("description", handler.__doc__ or ""),
                **options,
            )
        )
        return handler

    return register


# --- the pipeline ----------------------------------------------------------------------


def page_args(query: PageQuery) -> PageArgs:
    return PageArgs(first=query.limit, after=query.cursor)


async def _caller(request: Request, res: Resources, access: Access) -> Actor | None:
    if access == "anonymous":
        return None
    actor = await actor_from_token(res, bearer_token(request.headers))
    if actor is not None:
        # The access log and API analytics attribute the call, as for GraphQL.
        request.state.user_id = actor.user_id
    if access == "public":
        return actor
    if actor is None:
        raise Unauthenticated()
    if isinstance(access, Permission) and not actor.can(access):
        raise Forbidden(f"Missing permission: {access.value}")
    return actor


def _field_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    """Pydantic's errors as plain JSON (no exception objects, no echoed input)."""
    out = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = ".".join(str(part) for part in error["loc"])
        out.append(
            {"field": f"{prefix}{loc}" or "body", "message": error["msg"], "type": error["type"]}
        )
    return out


def _invalid(exc: ValidationError, what: str) -> BadUserInput:
    fields = _field_errors(exc)
    return BadUserInput(
        f"Invalid {what}: {fields[0]['field']}: {fields[0]['message']}",
        field=fields[0]["field"],
        details={"fields": fields},
    )


def _parse_query(request: Request, model: type[BaseModel] | None) -> BaseModel | None:
    params = request.query_params
    if model is None:
        if params:
            raise BadUserInput(f"Unknown query parameter `{next(iter(params))}`.", field="query")
        return None
    data: dict[str, str] = {}
    for key in params:
        values = params.getlist(key)
        if len(values) > 1:
            # `?status=A&status=B` is ambiguous; refuse it rather than pick one.
            raise BadUserInput(f"`{key}` is given more than once.", field=key)
        data[key] = values[0]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, "query string") from exc


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def _parse_body(request: Request, res: Resources, ep: Endpoint) -> BaseModel | None:
    if ep.body is None:
        return None
    # The hardening middleware stops oversized bodies while they stream (413); this check
    # keeps the handlers safe without it (e.g. an app assembled without that middleware).
    raw = await request.body()
    if len(raw) > res.settings.max_body_bytes:
        raise AppError(
            f"Request body larger than {res.settings.max_body_bytes} bytes.",
            code=ErrorCode.PAYLOAD_TOO_LARGE,
        )
    if not raw.strip():
        if ep.body_required:
            raise BadUserInput("A JSON request body is required.", field="body")
        return ep.body.model_validate({})
    if not _is_json(request.headers.get("content-type", "")):
        raise HTTPException(415, "Send the body as JSON (Content-Type: application/json).")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(400, f"Malformed JSON body: {exc}") from exc
    if not isinstance(data, dict):
        raise BadUserInput("The JSON body must be an object.", field="body")
    # Pydantic's strict models refuse objects where scalars belong; this also refuses
    # `$`-prefixed and dotted keys anywhere, before any value can reach a query.
    reject_operators(data, "body")
    try:
        return ep.body.model_validate_json(raw)
    except ValidationError as exc:
        raise _invalid(exc, "request body") from exc


def _json(body: Any, status: int) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def _run(ep: Endpoint, request: Request) -> Response:
    res: Resources = request.app.state.resources
    actor = await _caller(request, res, ep.access)
    call = Call(
        request=request,
        res=res,
        actor=actor,
        path={k: str(v) for k, v in request.path_params.items()},
        query=_parse_query(request, ep.query),
    )
    call.body = await _parse_body(request, res, ep)
    result = await ep.handler(call)
    if isinstance(result, Paged):
        meta = result.meta().model_dump(mode="json", by_alias=True)
        return _json({"data": _dump_all(result.items), "meta": meta}, ep.status)
    if isinstance(result, BaseModel):
        return _json({"data": result.model_dump(mode="json", by_alias=True)}, ep.status)
    return _json({"data": _dump_all(result)}, ep.status)


def _dump_all(items: Sequence[BaseModel]) -> list[Any]:
    return [item.model_dump(mode="json", by_alias=True) for item in items]


def _dispatcher(by_method: dict[str, Endpoint]) -> Callable[[Request], Awaitable[Response]]:
    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        try:
            return await _run(by_method[method], request)
        except (AppError, HTTPException):
            raise  # expected: Starlette's exception middleware answers with the error shape
        except ClientDisconnect:
            raise  # the client left: alawael.infra.access_log logs it as 499, nothing to answer
        except Exception as exc:
            # Answered here rather than by Starlette's ServerErrorMiddleware, which would
            # re-raise to the server after responding: one log line (with the request id)
            # per failure, and a 503 during a database outage is not a crash.
            return await unexpected_error_handler(request, exc)

    return dispatch


def build_routes(endpoints: Sequence[Endpoint]) -> list[Route]:
    """One Starlette route per path, so a wrong method is a 405 whose `Allow` lists every
    method of the path."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for ep in endpoints:
        by_path.setdefault(ep.path, {})[ep.method] = ep
    return [
        Route(path, _dispatcher(methods), methods=list(methods))
        for path, methods in by_path.items()
    ]
