"""Named transition conditions: each says, in the user's language, why it is unmet."""

from collections.abc import Callable
from typing import Any

from django.utils.functional import Promise

Condition = Callable[[Any], bool]


def condition(
    message: str | Promise, *, explain: Callable[[Any], list[str]] | None = None
) -> Callable[[Condition], Condition]:
    """Mark a django-fsm condition with the message shown when it does not hold, and
    optionally a function naming each specific problem."""

    def decorate(func: Condition) -> Condition:
        func.message = message  # type: ignore[attr-defined]
        func.explain = explain  # type: ignore[attr-defined]
        return func

    return decorate


def unmet_conditions(instance: Any, transition_name: str) -> list[str]:
    """The messages of the conditions that block ``transition_name`` from the current state."""
    method = getattr(instance, transition_name)
    meta = method._django_fsm
    state = meta.field.get_state(instance)
    transition = meta.get_transition(state)
    if transition is None:
        return []
    messages: list[str] = []
    for cond in transition.conditions:
        if cond(instance):
            continue
        messages.append(str(getattr(cond, "message", cond.__name__)))
        explain = getattr(cond, "explain", None)
        if explain is not None:
            messages.extend(explain(instance))
    return messages
