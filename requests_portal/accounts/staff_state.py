"""The sign-in gate's per-request lookups, read from the shared cache instead of the database.

Every staff request needs the user, their role (groups), their permissions and their confirmed
TOTP devices. The backend keeps all four together in one cache entry per user, stored beside
the user's freshness token read *before* the database was; an entry is used only while the
token is unchanged. The token is renewed, once the change commits, whenever the user is saved
(deactivated, renamed, password changed), their groups change, a group's permissions change or
a group is deleted, or one of their devices is saved or deleted — so a deactivated user, a
changed role or a removed device takes effect on the very next request, in every process that
shares the cache. Changes that bypass the ORM (``QuerySet.update``, raw SQL) reach the gate
within ``PORTAL_STAFF_CACHE_SECONDS``, how long an entry lives at most.

The checks themselves are Django's and django-otp's, unchanged: the session's auth hash is
compared with the cached user's (a password change signs every session out), an inactive user
is refused, and a session is verified only by a confirmed device of that user that the session
itself recorded at the code step (a session that passed only the password has none).

Each web process also keeps the users it unpickled, beside the token and the time they were read
from the database: a request whose token is unchanged gets a copy of that user instead of
fetching and unpickling the entry again (the same rule as the entry's: the same token, within
``PORTAL_STAFF_CACHE_SECONDS`` of the read). A cached page reads the token together with the
session and the page (``officer.page_cache.read_ahead``): ``primed`` hands that read to the
backend for the request.
"""

import contextlib
import copy
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db.models import prefetch_related_objects
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware
from django_otp.plugins.otp_totp.models import TOTPDevice

from workflow import freshness


def token_name(user_pk: Any) -> str:
    return f"staff-user:{user_pk}"


def entry_key(user_pk: Any) -> str:
    # The entry's layout is (token, when read from the database, user); a new layout takes a new
    # key, so that processes of two releases sharing the cache never read each other's entries.
    return f"portal:staff-user:2:{user_pk}"


def forget_users(user_pks: Any) -> None:
    """Every cached entry of these users is stale once the current transaction commits."""
    freshness.renew_on_commit(token_name(pk) for pk in user_pks)


def token_of(user: Any) -> str:
    """The user's freshness token (pages rendered for them are keyed by it)."""
    return freshness.tokens([token_name(user.pk)])[token_name(user.pk)]


@dataclass(frozen=True)
class Primed:
    """The gate's state of one user as a batched cache read found it (None: not found; the
    entry is left out when the process already holds the user)."""

    user_pk: str
    token: str | None
    entry: Any = None
    entry_read: bool = False


_primed: ContextVar[Primed | None] = ContextVar("portal_staff_primed", default=None)
# user pk → (token, when the user was read from the database, the user): this process's users.
_users: dict[str, tuple[str, float, Any]] = {}
_USERS_KEPT = 1000


@contextlib.contextmanager
def primed(state: Primed) -> Iterator[None]:
    """``get_user`` uses ``state`` for its user during the block instead of reading the cache."""
    reset = _primed.set(state)
    try:
        yield
    finally:
        _primed.reset(reset)


def known_user(user_pk: str) -> bool:
    """Whether this process holds the user (a batched read may then leave their entry out)."""
    return user_pk in _users


def _fresh(loaded_at: float) -> bool:
    return time.time() - loaded_at < settings.PORTAL_STAFF_CACHE_SECONDS


class StaffBackend(ModelBackend):
    """Django's ModelBackend, with ``get_user`` (called on every request) served from the cache."""

    def get_user(self, user_id: Any) -> Any:
        user = self._current(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def _current(self, user_id: Any) -> Any:
        name, pk = token_name(user_id), str(user_id)
        state = _primed.get()
        if state is None or state.user_pk != pk:
            if known_user(pk):  # the entry is read only if the process's copy is stale
                state = Primed(pk, cache.get(freshness.key_of(name)))
            else:
                found = cache.get_many([entry_key(user_id), freshness.key_of(name)])
                state = Primed(pk, found.get(freshness.key_of(name)), found.get(entry_key(user_id)), True)
        token = state.token
        if token is not None:
            kept = _users.get(pk)
            if kept is not None and kept[0] == token and _fresh(kept[1]):
                return copy.copy(kept[2])
            entry = state.entry if state.entry_read else cache.get(entry_key(user_id))
            if entry is not None and len(entry) == 3 and entry[0] == token and _fresh(entry[1]):
                self._keep(pk, entry)
                return copy.copy(entry[2])
        token = freshness.tokens([name])[name]  # read before the database, stored with it
        user = self._load(user_id)
        if user is None:
            return None
        entry = (token, time.time(), user)
        cache.set(entry_key(user_id), entry, settings.PORTAL_STAFF_CACHE_SECONDS)
        self._keep(pk, entry)
        return copy.copy(user)

    @staticmethod
    def _keep(pk: str, entry: tuple[str, float, Any]) -> None:
        if len(_users) >= _USERS_KEPT:
            _users.clear()
        _users[pk] = entry

    def _load(self, user_id: Any) -> Any:
        user = super().get_user(user_id)
        if user is None:
            return None
        # Filled now, so that they travel with the cached user: the role (groups), the
        # permissions (ModelBackend's own per-user caches) and the confirmed devices.
        prefetch_related_objects([user], "groups")
        self.get_all_permissions(user)
        # Without their secrets: the gate needs to know which devices exist, never their keys
        # (a device that verifies a code is read from the database, by the sign-in form).
        devices = TOTPDevice.objects.filter(user=user, confirmed=True).only("id", "user", "name", "confirmed")
        user.portal_devices = {d.persistent_id: d for d in devices.order_by("id")}
        return user


class StaffOTPMiddleware(OTPMiddleware):
    """django-otp's middleware, choosing the session's device among the cached user's confirmed
    devices instead of loading it by id (the same binding and confirmation rules)."""

    def _verify_user_sync(self, request: Any, user: Any) -> Any:
        devices = getattr(user, "portal_devices", None) if user.is_authenticated else None
        if devices is None:
            return super()._verify_user_sync(request, user)
        self._init_user_fields(user)
        persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
        device = devices.get(self._normalize_persistent_id(persistent_id)) if persistent_id else None
        # A copy: the devices are this process's, shared by every request of the user.
        user.otp_device = self._finalize_device(request, user, copy.copy(device))
        return user


# --- Invalidation: the ORM changes that alter what the gate decides --------------------------


def _user_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    forget_users([instance.pk])


def _groups_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any
) -> None:
    if not action.startswith("post_") and action != "pre_clear":
        return
    if not reverse:  # user.groups.set(...): the instance is the user
        forget_users([instance.pk])
    elif action == "pre_clear":  # group.user_set.clear(): the group's users, before they go
        forget_users(instance.user_set.values_list("pk", flat=True))
    else:
        forget_users(pk_set or [])


def _group_permissions_changed(sender: Any, instance: Any, action: str, reverse: bool, **kwargs: Any) -> None:
    if not action.startswith("post_"):
        return
    groups = [instance] if not reverse else list(Group.objects.filter(pk__in=kwargs.get("pk_set") or []))
    if reverse and action == "post_clear":
        groups = list(Group.objects.all())  # permission.group_set.clear(): no pk_set is given
    for group in groups:
        forget_users(group.user_set.values_list("pk", flat=True))


def _group_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    forget_users(list(instance.user_set.values_list("pk", flat=True)))


def _device_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    forget_users([instance.user_id])


def connect() -> None:
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="staff_state_user_saved")
    post_delete.connect(_user_saved, sender=user_model, dispatch_uid="staff_state_user_deleted")
    m2m_changed.connect(_groups_changed, sender=user_model.groups.through, dispatch_uid="staff_state_groups")
    m2m_changed.connect(
        _groups_changed, sender=user_model.user_permissions.through, dispatch_uid="staff_state_user_perms"
    )
    m2m_changed.connect(
        _group_permissions_changed, sender=Group.permissions.through, dispatch_uid="staff_state_group_perms"
    )
    pre_delete.connect(_group_deleted, sender=Group, dispatch_uid="staff_state_group_deleted")
    post_save.connect(_device_changed, sender=TOTPDevice, dispatch_uid="staff_state_device_saved")
    post_delete.connect(_device_changed, sender=TOTPDevice, dispatch_uid="staff_state_device_deleted")
