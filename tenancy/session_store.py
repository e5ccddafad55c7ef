"""Console sessions whose table is useless to whoever can read or write it.

`django_session` is platform data: the runtime role must read and write it before any
tenant is in context, so RLS cannot fence it, and SQL injection in any tenant's request
can `SELECT` it. With Django's stock store that table holds the cookies themselves: a
key read there logs the reader in as anyone, in any tenant. So this store keeps only a
digest of the key (`stored_key`), and signs each row's data with a salt that includes
that digest, so data copied from another row (another user's signed session) into the
attacker's own row fails its signature and loads as an empty session.

The key is 32 random characters from Django (~165 bits): an unkeyed digest is enough,
no one can find a key from it. Select with `SESSION_ENGINE = "tenancy.session_store"`.
"""

from __future__ import annotations

import hashlib

from django.contrib.sessions.backends import db


class SessionStore(db.SessionStore):
    @staticmethod
    def stored_key(session_key: str | None) -> str:
        """What the table holds for a cookie's key (40 hex characters, the column's width)."""
        return hashlib.blake2b((session_key or "").encode(), digest_size=20).hexdigest()

    @property
    def key_salt(self):
        # Bound to the row: another row's data does not verify here.
        return f"dim.session.{self.stored_key(self.session_key)}"

    def _get_session_from_db(self):
        key = self.session_key
        self._session_key = self.stored_key(key)
        try:
            return super()._get_session_from_db()
        finally:
            if self._session_key is not None:
                self._session_key = key

    async def _aget_session_from_db(self):
        key = self.session_key
        self._session_key = self.stored_key(key)
        try:
            return await super()._aget_session_from_db()
        finally:
            if self._session_key is not None:
                self._session_key = key

    def exists(self, session_key):
        return super().exists(self.stored_key(session_key))

    async def aexists(self, session_key):
        return await super().aexists(self.stored_key(session_key))

    def create_model_instance(self, data):
        key = self._get_or_create_session_key()
        return self.model(
            session_key=self.stored_key(key),
            session_data=self.encode(data),
            expire_date=self.get_expiry_date(),
        )

    async def acreate_model_instance(self, data):
        key = await self._aget_or_create_session_key()
        return self.model(
            session_key=self.stored_key(key),
            session_data=self.encode(data),
            expire_date=await self.aget_expiry_date(),
        )

    def delete(self, session_key=None):
        session_key = self.session_key if session_key is None else session_key
        if session_key is not None:
            self.model.objects.filter(session_key=self.stored_key(session_key)).delete()

    async def adelete(self, session_key=None):
        session_key = self.session_key if session_key is None else session_key
        if session_key is not None:
            await self.model.objects.filter(session_key=self.stored_key(session_key)).adelete()
