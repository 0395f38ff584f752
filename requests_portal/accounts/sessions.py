"""Django's cached_db sessions, whose first read can come from a batched cache read.

A cached staff page (``officer.page_cache``) reads the session, the sign-in gate's state and
the page itself from the cache in one round trip instead of three: it reads the session's cache
entry beside the others and hands it to the store with ``prime()``. The store then uses that
value instead of reading it again; a session the cache did not hold is read as Django reads it
(the cache, then the database). Nothing else changes: the same cache key, table, expiry and
saving.
"""

from typing import Any

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbStore


class SessionStore(CachedDbStore):
    def prime(self, data: dict[str, Any]) -> None:
        """The session's data as the cache held it a moment ago: its first load returns it."""
        if not hasattr(self, "_session_cache"):  # not read yet in this request
            self._primed = data

    def load(self) -> dict[str, Any]:
        primed = self.__dict__.pop("_primed", None)
        if primed is not None:
            return primed
        return super().load()  # type: ignore[no-any-return]
