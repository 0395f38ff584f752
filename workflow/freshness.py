"""Freshness tokens: what a cached rendering of the portal's data is valid for.

A token names a version of something pages show — one audit stream (an order and everything
its page shows), or ``ALL`` (anything at all, for the dashboard). Every change to a request is
audited in its stream in the same transaction (DESIGN §4), so ``workflow.audit.record`` renews
the stream's token and ``ALL`` when that transaction commits; the page caches store each
rendering beside the tokens they read *before* reading the data, and serve it only while the
tokens are unchanged.

Tokens are random, never counters: renewing a token drops it, and a token dropped or lost
from the cache (eviction, restart) comes back as a new random value, so it can never match a
rendering made under the old one. The cache must be
shared by every process that changes data (web workers, Celery workers, commands): Redis with
``CACHE_URL``, or the embedded shape's file cache.

The one window: a reader that takes the token renewed at the change, reads the rows before the
commit and stores them, in a process killed between that commit and its second renewal,
leaves that rendering valid until it expires (``PORTAL_PAGE_CACHE_SECONDS``).
"""

import hashlib
import secrets
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

ALL = "all"
PREFIX = "portal:fresh:"


def key_of(name: str) -> str:
    # Hashed: a stream's name may hold characters a cache key may not (spaces, any length).
    return PREFIX + hashlib.blake2b(name.encode(), digest_size=16).hexdigest()


def tokens(names: Iterable[str]) -> dict[str, str]:
    """The current token of each name (a name without one is given one now)."""
    names = list(names)
    found = cache.get_many([key_of(n) for n in names])
    current = {n: found.get(key_of(n)) for n in names}
    for name, token in current.items():
        if token is None:
            # add() keeps whichever of two racing first readers came first.
            cache.add(key_of(name), secrets.token_hex(8), timeout=None)
            current[name] = cache.get(key_of(name)) or ""
    return {n: str(t) for n, t in current.items()}


def renew(names: Iterable[str]) -> None:
    """Invalidate every rendering made under these names' current tokens: the tokens are
    dropped, and the next reader draws a new one (so writes to streams nobody looks at leave
    no keys behind)."""
    cache.delete_many([key_of(n) for n in set(names)])


def renew_on_commit(names: Iterable[str]) -> None:
    """Renew now and again once the current transaction commits. Now, so that nothing stored
    before the change is served after it even when the commit's callbacks never run (a test's
    rolled-back transaction, a process killed right after its commit); at the commit, because a
    reader that took the new token before the commit may have read, and stored, the old rows."""
    chosen = tuple(names)
    renew(chosen)
    transaction.on_commit(lambda: renew(chosen))
