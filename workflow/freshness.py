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
import os
import secrets
from collections.abc import Iterable

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.filebased import FileBasedCache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

ALL = "all"
PREFIX = "portal:fresh:"


def key_of(name: str) -> str:
    # Hashed: a stream's name may hold characters a cache key may not (spaces, any length).
    return PREFIX + hashlib.blake2b(name.encode(), digest_size=16).hexdigest()


def tokens(names: Iterable[str], known: dict[str, str] | None = None) -> dict[str, str]:
    """The current token of each name (a name without one is given one now). ``known``: what
    the caller has just read of these names' tokens from the cache (a name it did not find is
    left out), so that they are not read again."""
    names = list(names)
    if known is None:
        found = cache.get_many([key_of(n) for n in names])
        known = {n: found[key_of(n)] for n in names if key_of(n) in found}
    current: dict[str, str | None] = {n: known.get(n) for n in names}
    for name, token in current.items():
        if token is None:
            # add() keeps whichever of two racing first readers came first: the token drawn here
            # when it stored it, the other's (read back) when it did not.
            drawn = secrets.token_hex(8)
            current[name] = drawn if cache.add(key_of(name), drawn, timeout=None) else cache.get(key_of(name))
    return {n: str(t or "") for n, t in current.items()}


def renew(names: Iterable[str]) -> None:
    """Invalidate every rendering made under these names' current tokens: the tokens are
    dropped, and the next reader draws a new one (so writes to streams nobody looks at leave
    no keys behind)."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if type(backend) is FileBasedCache:
        # What FileBasedCache.delete does (unlink the key's file), without re-deriving the file's
        # name each time: every audited change renews two names, twice.
        for name in set(names):
            try:  # noqa: SIM105 (cheaper than contextlib.suppress, four times per audited change)
                os.remove(_token_file(backend, name))
            except FileNotFoundError:
                pass
    else:
        backend.delete_many([key_of(n) for n in set(names)])


_token_files: dict[tuple[str, str, int, str], str] = {}


def _token_file(backend: FileBasedCache, name: str) -> str:
    """The file of ``name``'s token in a file cache (Django's own spelling of it, remembered)."""
    memo = (backend._dir, backend.key_prefix, backend.version, name)  # type: ignore[attr-defined]
    path = _token_files.get(memo)
    if path is None:
        if len(_token_files) >= 4096:
            _token_files.clear()
        path = _token_files[memo] = backend._key_to_file(key_of(name))  # type: ignore[attr-defined]
    return path


class _Renewal:
    """The names one atomic block has renewed so far, renewed again (once) when it commits."""

    __slots__ = ("names", "ran")

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.ran = False

    def __call__(self) -> None:
        self.ran = True  # a hook run early (a test's captured callbacks) takes no more names
        renew(self.names)


# How far back ``renew_on_commit`` looks for the block's pending renewal among the commit hooks;
# beyond that a second one is registered (renewing a name twice is harmless).
_LOOK_BACK = 8


def renew_on_commit(names: Iterable[str]) -> None:
    """Renew now and again once the current transaction commits. Now, so that nothing stored
    before the change is served after it even when the commit's callbacks never run (a test's
    rolled-back transaction, a process killed right after its commit); at the commit, because a
    reader that took the new token before the commit may have read, and stored, the old rows.

    Every call renews its names now. The renewals at the commit are coalesced: the calls made in
    one atomic block (the same savepoints) share one commit hook, which renews the union of their
    names once, however many events the block records."""
    chosen = set(names)
    conn = connections[DEFAULT_DB_ALIAS]
    renew(chosen)
    if not conn.in_atomic_block and conn.get_autocommit():
        return  # the change is committed already: nothing is pending
    pending = _pending_renewal(conn)
    if pending is None:
        pending = _Renewal()
        conn.on_commit(pending)
    pending.names |= chosen


def _pending_renewal(conn: BaseDatabaseWrapper) -> _Renewal | None:
    """This atomic block's renewal among the commit hooks, if it registered one: a hook Django
    still holds runs at the commit (a rolled-back savepoint drops the hooks registered in it)."""
    hooks = conn.run_on_commit
    if not hooks:
        return None
    here = set(conn.savepoint_ids)
    for hook in hooks[: -_LOOK_BACK - 1 : -1]:  # (savepoint ids, function, robust), newest first
        func = hook[1]
        if type(func) is _Renewal and not func.ran and hook[0] == here:
            return func
    return None
