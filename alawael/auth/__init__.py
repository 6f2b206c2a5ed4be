"""Authentication (passwords, tokens, sessions) and authorization (permissions)."""
