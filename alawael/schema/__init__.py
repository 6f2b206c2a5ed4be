"""The GraphQL door's types, one module per domain, composed in `root`.

Importing this package builds nothing: `alawael.schema.build.build_schema(settings)` builds
the schema (create_app), `exported_schema()` the one written to schema.graphql."""
