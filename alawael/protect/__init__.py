"""Protecting the API: rate limits, GraphQL limits and cost, persisted queries and the
safelist, HTTP hardening (security headers, body size) and the operator-injection guard.

Each module holds one idea; `server.py` installs the middleware, `schema/build.py` the
GraphQL limits (built once per schema), `schema/app.py` the persisted queries.
"""
