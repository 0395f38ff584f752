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


def orders_visible_to(user: Any) -> QuerySet[DisclosureOrder]:
    if not can_see_cases(user):
        return DisclosureOrder.objects.none()
    return DisclosureOrder.objects.select_related("authority")


def preservation_orders_visible_to(user: Any) -> QuerySet[PreservationOrder]:
    if not can_see_cases(user):
        return PreservationOrder.objects.none()
    return PreservationOrder.objects.select_related("authority")
