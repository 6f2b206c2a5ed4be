from __future__ import annotations

from alawael.loaders.base import DocumentByIdLoader


class UserByIdLoader(DocumentByIdLoader):
    collection = "users"
    # Never load the password hash into the request.
    projection = {"passwordHash": 0}
