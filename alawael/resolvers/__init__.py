"""Thin resolvers per domain: parse GraphQL arguments (global ids, Money, inputs), call
the service with the caller's Actor, return documents. The schema modules wrap the
documents in types, so this package never imports a schema module at run time."""
