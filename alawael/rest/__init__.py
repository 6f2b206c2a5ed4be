"""The legacy REST shim (`/api/...`) and health endpoints, calling the same services."""
