"""GET /api/docs: the OpenAPI document as one self-contained HTML page.

No scripts and no CDN assets (the API may run where nothing else is reachable, and a page
without scripts needs no Content-Security-Policy exceptions): each operation is listed
with its access rule, parameters, request body, responses, and the schemas at the end.
"""

from __future__ import annotations

import json
from functools import lru_cache
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from alawael.rest.openapi import document

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{margin-bottom:0}h2{border-bottom:1px solid #ccc;margin-top:2.5rem}
.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
.m{display:inline-block;min-width:4.5rem;font-weight:700;font-family:monospace}
.GET{color:#0a7}.POST{color:#06c}.PUT{color:#a60}.PATCH{color:#a0a}.DELETE{color:#c22}
code,pre{font-family:ui-monospace,monospace;font-size:13px}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;white-space:pre-wrap}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}
summary{cursor:pointer}
"""


def _pre(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    return f"<pre>{escape(text)}</pre>"


def _parameters(params: list[dict[str, Any]]) -> str:
    if not params:
        return ""
    rows = "".join(
        f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
        f"<td>{'yes' if p.get('required') else 'no'}</td>"
        f"<td><code>{escape(json.dumps(p.get('schema', {})))}</code></td>"
        f"<td>{escape(p.get('description', ''))}</td></tr>"
        for p in params
    )
    return (
        "<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th>"
        f"<th>schema</th><th>description</th></tr>{rows}</table>"
    )


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    parts = [
        f'<div class="op" id="{escape(op["operationId"])}">',
        f'<h3><span class="m {method.upper()}">{method.upper()}</span>'
        f"<code>{escape(path)}</code> — {escape(op.get('summary', ''))}</h3>",
        _pre(op["description"]) if op.get("description") else "",
        _parameters(op.get("parameters", [])),
    ]
    body = op.get("requestBody")
    if body:
        schema = body["content"]["application/json"]["schema"]
        required = "required" if body.get("required") else "optional"
        parts.append(f"<h4>Request body ({required})</h4>{_pre(schema)}")
    rows = []
    for status, response in op["responses"].items():
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        rows.append(
            f"<tr><td>{escape(status)}</td><td>{escape(response['description'])}</td>"
            f"<td><code>{escape(json.dumps(schema))}</code></td></tr>"
        )
    parts.append(
        "<h4>Responses</h4><table><tr><th>status</th><th>meaning</th><th>body</th></tr>"
        + "".join(rows)
        + "</table></div>"
    )
    return "".join(parts)


def render(doc: dict[str, Any]) -> str:
    by_tag: dict[str, list[str]] = {tag["name"]: [] for tag in doc.get("tags", [])}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            by_tag.setdefault(op["tags"][0], []).append(_operation(path, method, op))
    sections = "".join(
        f"<h2>{escape(tag)}</h2>{''.join(ops)}" for tag, ops in by_tag.items() if ops
    )
    schemas = "".join(
        f"<details><summary><code>{escape(name)}</code></summary>{_pre(schema)}</details>"
        for name, schema in doc["components"]["schemas"].items()
    )
    info = doc["info"]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(info['title'])}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(info['title'])}</h1><p>Version {escape(info['version'])} · "
        '<a href="/api/openapi.json">OpenAPI 3.1 document</a></p>'
        f"{_pre(info['description'])}{sections}<h2>Schemas</h2>{schemas}</body></html>"
    )


@lru_cache(maxsize=1)
def page() -> str:
    return render(document())


async def docs_page(request: Request) -> HTMLResponse:
    return HTMLResponse(page())
