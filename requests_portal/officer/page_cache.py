"""Whole rendered officer pages, served again while nothing they show has changed.

A page is stored under a key made of everything that selects what it shows besides the data:
the address with its query, the language, today's date (due-date marks, the footer), the user
and their role, whether htmx asked for the fragment, and the browser's CSRF secret (the page's
forms carry a token masked from it, valid for that browser only). Beside the page are stored
the freshness tokens (``workflow.freshness``) of the data it shows — read before the view reads
anything — and of the user (``accounts.staff_state``: a renamed user, a changed role); it is
served only while all of them are unchanged, so a change committed by anyone, in any process,
shows on the next view. ``PORTAL_PAGE_CACHE_SECONDS`` bounds how long a page is kept at all.

Nothing is served from the cache before the sign-in gate has passed (the views' decorators run
first), to a browser without a CSRF cookie, or to a request with messages waiting to be shown.
Responses say ``X-Portal-Cache: hit`` or ``miss`` (the benchmark counts them).
"""

import hashlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import get_language

from requests_portal.accounts import staff_state
from workflow import freshness


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class PageCache:
    """``page = PageCache(request, data=[...])``; ``page.get()`` → a cached response or None;
    after rendering, ``return page.store(response)``."""

    def __init__(self, request: HttpRequest, *, data: Iterable[str]) -> None:
        self.request = request
        self.key = ""
        self.tokens: dict[str, str] = {}
        # The secret CsrfViewMiddleware accepted from the cookie (absent, or about to be
        # replaced, when the browser has none or a malformed one).
        secret = request.META.get("CSRF_COOKIE")
        if (
            not settings.PORTAL_PAGE_CACHE_SECONDS
            or request.method != "GET"
            or not secret
            or request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
            or len(get_messages(request))
        ):
            return
        user: Any = request.user
        self.names = [*data, staff_state.token_name(user.pk)]
        self.key = "portal:page:" + _digest(
            request.get_full_path(),
            get_language() or "",
            timezone.localdate().isoformat(),
            str(user.pk),
            str(user.role),
            "htmx" if getattr(request, "htmx", False) else "",
            _digest(str(secret)),
        )

    def get(self) -> HttpResponse | None:
        if not self.key:
            return None
        token_keys = {freshness.key_of(n): n for n in self.names}
        found = cache.get_many([self.key, *token_keys])
        self.tokens = {n: found[k] for k, n in token_keys.items() if k in found}
        if len(self.tokens) < len(self.names):
            self.tokens = freshness.tokens(self.names)
        entry = found.get(self.key)
        if entry is not None and entry[0] == self.tokens:
            response = HttpResponse(entry[1], content_type=entry[2])
            response["X-Portal-Cache"] = "hit"
            return response
        return None

    def store(self, response: HttpResponse, *, cacheable: bool = True) -> HttpResponse:
        if not self.key:
            return response
        if cacheable and response.status_code == 200 and not response.streaming:
            cache.set(
                self.key,
                (self.tokens, response.content, response["Content-Type"]),
                settings.PORTAL_PAGE_CACHE_SECONDS,
            )
        response["X-Portal-Cache"] = "miss"
        return response
