"""Business rules per domain, shared by the GraphQL resolvers and the REST shim."""
