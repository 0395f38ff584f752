"""Whole rendered officer pages, served again while nothing they show has changed.

A page is stored under a key made of everything that selects what it shows besides the data:
the address with its query, the language, today's date (due-date marks, the footer), the user,
whether htmx asked for the fragment, and the browser's CSRF secret (the page's forms carry a
token masked from it, valid for that browser only). Beside the page are stored the user's role
and the freshness tokens (``workflow.freshness``) of the data it shows — read before the view
reads anything — and of the user (``accounts.staff_state``: a renamed user, a changed role); it
is served only while all of them are unchanged, so a change committed by anyone, in any
process, shows on the next view. ``PORTAL_PAGE_CACHE_SECONDS`` bounds how long a page is kept.

Nothing is served from the cache before the sign-in gate has passed (``cached_page`` only reads
ahead; the view asks ``page_cache.get()`` behind the gate), to a browser without a CSRF cookie, or to
a request with messages waiting to be shown. Responses say ``X-Portal-Cache: hit``, ``wait`` (served
the page another request was rendering, after waiting for it) or ``miss`` (the benchmark counts
them).

One round trip: a view decorated with ``cached_page`` reads the session, the gate's state of the
session's user (``staff_state.primed``) and the page with its tokens in one ``get_many``; the
gate and the page then use what it found instead of reading each again. The session's user is
known from an earlier request of the same session in this process (a session key belongs to one
user for its whole life: Django gives a new key at every sign-in); a first request reads them
one after the other.

One render: when a page is missing or stale, the first request to see it claims its render
(``cache.add``); a request for the same page meanwhile waits for that render — polling the
cache, at most ``RENDER_WAIT_SECONDS`` — and is served it once it is stored under the tokens
current then, instead of rendering the same page beside it. A claim lives ``RENDER_CLAIM_SECONDS``
at most (a renderer that died). A claim names the tokens (and role) the page is rendered under:
once the page is stored, its claim is left to expire rather than deleted (a round trip less on
every render), since a request under the same tokens finds the page and one under new tokens
claims a render of its own; a render that failed or was not stored gives its claim up at once.

Round trips of a render: the batched read, the token of a name nobody has read since its last
change (one ``add``: ``freshness.tokens`` with what the read found), the claim, the store.
"""

import functools
import hashlib
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.messages import get_messages
from django.core.cache import DEFAULT_CACHE_ALIAS, cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import get_language

from requests_portal.accounts import staff_state
from workflow import freshness

# An entry is (tokens, role, content, content type); a new layout takes a new prefix, so that
# processes of two releases sharing the cache never read each other's entries.
PREFIX = "portal:page:2:"
RENDER_CLAIM_SECONDS = 5
RENDER_WAIT_SECONDS = 1.0
RENDER_POLL_SECONDS = 0.004

# session key → the pk of its user, learnt from the requests this process served.
_session_users: dict[str, str] = {}
_SESSIONS_KEPT = 10_000


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class PageCache:
    """Made by ``cached_page`` and given to the view as ``page_cache``: behind the gate,
    ``page_cache.get()`` → the cached response or None; after rendering,
    ``return page_cache.store(response)``."""

    def __init__(self, request: HttpRequest, *, data: Iterable[str]) -> None:
        self.request = request
        self.enabled = False
        self.key = ""
        self.tokens: dict[str, str] = {}
        self.claimed = ""  # the claim this request holds to render the page
        self.role = ""
        self._ahead: dict[str, Any] | None = None  # the batched read, for the user it assumed
        self._ahead_user = ""
        self.data = list(data)
        # The secret CsrfViewMiddleware accepted from the cookie (absent, or about to be
        # replaced, when the browser has none or a malformed one).
        secret = request.META.get("CSRF_COOKIE")
        if (
            not settings.PORTAL_PAGE_CACHE_SECONDS
            or request.method != "GET"
            or not secret
            or request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        ):
            return
        self.enabled = True
        self._parts = (
            request.get_full_path(),
            get_language() or "",
            timezone.localdate().isoformat(),
            # What ``request.htmx`` says (django-htmx), read from the header without building
            # ``request.headers``.
            "htmx" if request.META.get("HTTP_HX_REQUEST") == "true" else "",
            _digest(str(secret)),
        )

    def _key_for(self, user_pk: str) -> str:
        return PREFIX + _digest(*self._parts, user_pk)

    def _names(self, user_pk: str) -> list[str]:
        return [*self.data, staff_state.token_name(user_pk)]

    # --- Before the gate ---------------------------------------------------------------------

    def read_ahead(self) -> staff_state.Primed | None:
        """Read the session, its user's gate state and this page in one round trip, when the
        session's user is known; hand the session its data. The gate's part is returned, for
        ``staff_state.primed``."""
        session = self.request.session
        session_key = session.session_key
        user_pk = _session_users.get(session_key or "")
        if (
            not self.enabled
            or user_pk is None
            or not hasattr(session, "prime")
            or settings.SESSION_CACHE_ALIAS != DEFAULT_CACHE_ALIAS
        ):
            return None
        session_entry = session.cache_key  # type: ignore[attr-defined]
        token_key = freshness.key_of(staff_state.token_name(user_pk))
        user_entry = staff_state.entry_key(user_pk)
        wanted_user = not staff_state.known_user(user_pk)
        key = self._key_for(user_pk)
        keys = [session_entry, user_entry] if wanted_user else [session_entry]
        keys += [key, *(freshness.key_of(n) for n in self._names(user_pk))]
        found = cache.get_many(keys)
        if session_entry in found:
            session.prime(found[session_entry])  # type: ignore[attr-defined]
        self.key, self._ahead, self._ahead_user = key, found, user_pk
        return staff_state.Primed(user_pk, found.get(token_key), found.get(user_entry), wanted_user)

    # --- Behind the gate ---------------------------------------------------------------------

    def get(self) -> HttpResponse | None:
        if self.enabled and len(get_messages(self.request)):
            self.enabled = False  # a message waits: the page shows it, so it is neither served nor stored
        if not self.enabled:
            return None
        user: Any = self.request.user
        user_pk, role = str(user.pk), str(user.role)
        session = self.request.session
        if session.session_key and session.get(SESSION_KEY) == user_pk:
            if len(_session_users) >= _SESSIONS_KEPT:
                _session_users.clear()
            _session_users[session.session_key] = user_pk
        self.names = self._names(user_pk)
        self.role = role
        token_keys = {freshness.key_of(n): n for n in self.names}
        if self._ahead is not None and self._ahead_user == user_pk:
            found = self._ahead
        else:
            self.key = self._key_for(user_pk)
            found = cache.get_many([self.key, *token_keys])
        self._take_tokens(found, token_keys)
        if (hit := self._hit(found.get(self.key))) is not None:
            return hit
        return self._claim_or_wait(token_keys)

    def _take_tokens(self, found: dict[str, Any], token_keys: dict[str, str]) -> None:
        self.tokens = {n: found[k] for k, n in token_keys.items() if k in found}
        if len(self.tokens) < len(self.names):  # a name nobody has read since its last change
            self.tokens = freshness.tokens(self.names, known=self.tokens)

    def _hit(self, entry: Any, how: str = "hit") -> HttpResponse | None:
        if entry is None or entry[0] != self.tokens or entry[1] != self.role:
            return None
        response = HttpResponse(entry[2], content_type=entry[3])
        response["X-Portal-Cache"] = how
        return response

    def _claim_or_wait(self, token_keys: dict[str, str]) -> HttpResponse | None:
        """None when this request is to render the page (it claimed the render, or waited long
        enough); the page another request rendered meanwhile otherwise."""
        claim = self._claim()
        if cache.add(claim, 1, RENDER_CLAIM_SECONDS):
            self.claimed = claim
            return None
        deadline = time.monotonic() + RENDER_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(RENDER_POLL_SECONDS)
            found = cache.get_many([self.key, claim, *token_keys])
            self._take_tokens(found, token_keys)
            if (waited := self._hit(found.get(self.key), "wait")) is not None:
                return waited
            current = self._claim()  # the tokens may have moved on meanwhile
            if (current != claim or claim not in found) and cache.add(current, 1, RENDER_CLAIM_SECONDS):
                self.claimed = current
                return None
            claim = current
        return None

    def _claim(self) -> str:
        """The claim to render this page under the current tokens (and role)."""
        return f"{self.key}:render:" + _digest(
            *(f"{n}={t}" for n, t in sorted(self.tokens.items())), self.role
        )

    def store(self, response: HttpResponse, *, cacheable: bool = True) -> HttpResponse:
        if not self.enabled or not self.tokens:  # disabled, or ``get()`` was not asked first
            return response
        if cacheable and response.status_code == 200 and not response.streaming:
            cache.set(
                self.key,
                (self.tokens, self.role, response.content, response["Content-Type"]),
                settings.PORTAL_PAGE_CACHE_SECONDS,
            )
            # Its claim is left to expire: whoever asks under these tokens finds the page now,
            # and new tokens make a new claim.
            self.claimed = ""
        self.release()
        response["X-Portal-Cache"] = "miss"
        return response

    def release(self) -> None:
        """Give up the claim to render (not storable, or failed)."""
        if self.claimed:
            claim, self.claimed = self.claimed, ""
            cache.delete(claim)


View = Callable[..., HttpResponse]


def cached_page(data: Callable[..., Iterable[str]]) -> Callable[[View], View]:
    """Above the view's gate: ``@cached_page(lambda reference: [stream, …])`` names the data the
    page shows from the view's URL arguments; the view receives ``page_cache`` (a ``PageCache``)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            page = PageCache(request, data=data(**kwargs))
            ahead = page.read_ahead()
            try:
                if ahead is None:
                    return view(request, *args, page_cache=page, **kwargs)
                with staff_state.primed(ahead):
                    return view(request, *args, page_cache=page, **kwargs)
            finally:
                page.release()

        return wrapped

    return decorate
