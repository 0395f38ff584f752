"""Object-level visibility has one gate per kind of object (STYLE: named queries).

A view answers 404 when the object is not in the user's visible set, and 403 when it is
visible but the action is not permitted.
"""

from typing import Any

from django.db.models import QuerySet

from requests_portal.roles import Role
from workflow.models import DisclosureOrder, PreservationOrder

# The legal team works as one desk: officers and approvers see every order. Auditors see
# references through the audit trail only; administrators and customers see no case content.
CASE_ROLES = frozenset({Role.LEGAL_OFFICER, Role.APPROVER})


def can_see_cases(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and getattr(user, "role", None) in CASE_ROLES)


def order_visibility(user: Any) -> str:
    """The kind of reader ``user`` is for disclosure orders: ``orders_visible_to(user)`` is
    ``orders_visible_as(order_visibility(user))``, a function of this name alone, so that a read
    of the gate may be compiled once per kind (``requests_portal.officer.compiled``). A rule
    that looks at more of the user must say so here, in the name it returns."""
    return "cases" if can_see_cases(user) else "none"


def orders_visible_as(kind: str) -> QuerySet[DisclosureOrder]:
    """The orders a reader of this kind (``order_visibility``) sees."""
    if kind != "cases":
        return DisclosureOrder.objects.none()
    return DisclosureOrder.objects.select_related("authority")


def orders_visible_to(user: Any) -> QuerySet[DisclosureOrder]:
    return orders_visible_as(order_visibility(user))


def preservation_orders_visible_to(user: Any) -> QuerySet[PreservationOrder]:
    if not can_see_cases(user):
        return PreservationOrder.objects.none()
    return PreservationOrder.objects.select_related("authority")
