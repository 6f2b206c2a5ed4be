"""Protecting the API: rate limits, GraphQL limits and cost, persisted queries and the
safelist, HTTP hardening (security headers, body size) and the operator-injection guard.

Each module holds one idea; `server.py` installs the middleware, `schema/__init__.py` the
GraphQL limits (built once per schema), `graphql_app.py` the persisted queries.
"""
