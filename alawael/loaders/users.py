from __future__ import annotations

from alawael.infra.db import Document
from alawael.loaders.base import DocumentByIdLoader
from alawael.records.users import UserRecord
from alawael.services.users import PUBLIC


class UserByIdLoader(DocumentByIdLoader):
    collection = "users"
    # Never load the password hash into the request.
    projection = PUBLIC

    def to_item(self, doc: Document) -> UserRecord:
        return UserRecord.from_doc(doc)
