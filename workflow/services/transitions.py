"""The one shape every state change takes (STYLE.md):

    transaction.atomic → select_for_update → permission → transition → save() → audit.record
    → transaction.on_commit(enqueue)

A refusal raises a DomainError naming the reason, leaves nothing half-written, and is itself
audited in a transaction of its own.
"""

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from workflow import audit
from workflow.errors import (
    ConditionsUnmet,
    DomainError,
    FourEyesViolation,
    NotPermitted,
    StaleVersion,
    WrongState,
)
from workflow.models.conditions import unmet_conditions

M = TypeVar("M", bound=models.Model)


def lock(instance: M) -> M:
    """Reload ``instance`` with its row locked for the rest of the transaction."""
    return type(instance)._default_manager.select_for_update().get(pk=instance.pk)


def check_version(instance: Any, expected_version: int | None) -> None:
    if expected_version is not None and instance.version != expected_version:
        raise StaleVersion()


def check_transition(instance: Any, name: str, actor: Any) -> None:
    """Raise the specific reason why ``actor`` may not take transition ``name`` now."""
    meta = getattr(instance, name)._django_fsm
    state = meta.field.get_state(instance)
    if not meta.has_transition(state):
        raise WrongState(
            _("This action is not possible while the order is “%(state)s”.")
            % {"state": instance.get_state_display()}
        )
    if actor is not None and not meta.has_transition_perm(instance, state, actor):
        preparers = getattr(instance, "preparer_ids", lambda: {getattr(instance, "verified_by_id", None)})()
        if actor.pk in preparers:
            raise FourEyesViolation(
                _("You verified or scoped this order, so another approver must take this decision.")
            )
        raise NotPermitted(_("Your role does not allow this action."))
    unmet = unmet_conditions(instance, name)
    if unmet:
        raise ConditionsUnmet(_("This action is not possible yet."), details=unmet)


def run_transition(
    instance: M,
    name: str,
    *,
    actor: Any,
    action: str,
    expected_version: int | None = None,
    kwargs: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    validate: Callable[[M], None] | None = None,
    on_commit: Callable[[M], None] | None = None,
) -> M:
    """Take transition ``name`` on ``instance`` as ``actor`` and audit it as ``action``."""
    try:
        with transaction.atomic():
            locked = lock(instance)
            check_version(locked, expected_version)
            check_transition(locked, name, actor)
            if validate is not None:
                validate(locked)
            source = locked.state  # type: ignore[attr-defined]
            getattr(locked, name)(**(kwargs or {}))
            locked.version += 1  # type: ignore[attr-defined]
            try:
                with transaction.atomic():
                    locked.save()
            except IntegrityError as err:
                if "four_eyes" in str(err):
                    raise FourEyesViolation(
                        _("The database refused this: the same person may not prepare and approve an order.")
                    ) from err
                raise
            audit.record(
                action,
                actor=actor,
                obj=locked,
                data={"from": source, "to": locked.state, **(data or {})},  # type: ignore[attr-defined]
            )
            if on_commit is not None:
                transaction.on_commit(lambda: on_commit(locked))
    except DomainError as err:
        audit.record_refusal(
            f"{action}.refused", actor=actor, obj=instance, reason=err.message, code=err.code, attempted=name
        )
        raise
    return locked


def run_update(
    instance: M,
    *,
    actor: Any,
    action: str,
    allowed_states: list[str],
    permission: str,
    change: Callable[[M], Mapping[str, Any] | None],
    expected_version: int | None = None,
) -> M:
    """A change that is not a transition (a checklist item, the scope) in the same shape.

    ``change`` edits the locked instance (and related rows) and returns the audit data.
    """
    try:
        with transaction.atomic():
            locked = lock(instance)
            check_version(locked, expected_version)
            if locked.state not in allowed_states:  # type: ignore[attr-defined]
                raise WrongState(
                    _("This is not possible while the order is “%(state)s”.")
                    % {"state": locked.get_state_display()}  # type: ignore[attr-defined]
                )
            if not (actor.is_active and actor.has_perm(permission)):
                raise NotPermitted(_("Your role does not allow this action."))
            data = change(locked) or {}
            locked.version += 1  # type: ignore[attr-defined]
            locked.save()
            audit.record(action, actor=actor, obj=locked, data=data)
    except DomainError as err:
        audit.record_refusal(
            f"{action}.refused", actor=actor, obj=instance, reason=err.message, code=err.code
        )
        raise
    return locked
