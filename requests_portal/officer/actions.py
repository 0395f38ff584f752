"""What can be done to a disclosure order, and whether this user may do it now.

Each action names its service function and its form. Which buttons a page shows is read from
django-fsm (the transition exists from this state, its permission callable admits the user) and
from the named conditions, so that the page and the service can never disagree; an action the
user could take but may not yet is shown with the reasons, and four eyes is said in words.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from workflow.models import DisclosureOrder, DisclosureState
from workflow.models.conditions import unmet_conditions
from workflow.services import disclosure as svc

from . import forms as f

S = DisclosureState
DONE = _("Done.")
Call = Callable[[DisclosureOrder, Any, dict[str, Any], int | None], DisclosureOrder]


@dataclass(frozen=True)
class OrderAction:
    name: str
    label: str | Promise
    call: Call
    form: type[forms.Form] | None = None
    transition: str | None = None
    # Changes that are not transitions: the states they are allowed in and the permission.
    states: tuple[str, ...] = ()
    permission: str = ""
    style: str = "primary"
    done: str | Promise = DONE


@dataclass
class Offer:
    """An action as this user sees it on this order now."""

    action: OrderAction
    enabled: bool
    reasons: list[str] = field(default_factory=list)
    form: forms.Form | None = None

    @property
    def name(self) -> str:
        return self.action.name


# Transitions guarded by four eyes, and the role permission behind each.
FOUR_EYES = {
    "approve_scope": "workflow.approve_scope",
    "return_scope": "workflow.approve_scope",
    "release": "workflow.release_package",
    "return_package": "workflow.release_package",
}


ACTIONS: dict[str, OrderAction] = {
    a.name: a
    for a in [
        OrderAction(
            "start_verification",
            _("Start verification"),
            lambda o, u, d, v: svc.start_verification(o, actor=u, expected_version=v),
            transition="start_verification",
            done=_("Verification started."),
        ),
        OrderAction(
            "verify",
            _("Mark verified and start scoping"),
            lambda o, u, d, v: svc.verify(o, actor=u, expected_version=v),
            transition="verify",
            style="success",
            done=_("The order is verified; scoping can start."),
        ),
        OrderAction(
            "verify_emergency",
            _("Emergency: scope after identity-only verification"),
            lambda o, u, d, v: svc.verify_emergency(
                o, actor=u, followup_due=d["followup_due"], expected_version=v
            ),
            form=f.EmergencyForm,
            transition="verify_emergency",
            style="warning",
            done=_("Emergency verification recorded; scoping can start."),
        ),
        OrderAction(
            "request_clarification",
            _("Ask the authority to clarify"),
            lambda o, u, d, v: svc.request_clarification(
                o, actor=u, question=d["question"], expected_version=v
            ),
            form=f.ClarificationForm,
            transition="request_clarification",
            style="outline-primary",
            done=_("Clarification requested; the due date is paused."),
        ),
        OrderAction(
            "receive_clarification",
            _("Record the authority's answer"),
            lambda o, u, d, v: svc.receive_clarification(
                o, actor=u, note=d.get("note", ""), expected_version=v
            ),
            form=f.NoteForm,
            transition="receive_clarification",
            done=_("Clarification received; verification continues."),
        ),
        OrderAction(
            "submit_scope",
            _("Submit the scope for approval"),
            lambda o, u, d, v: svc.submit_scope(o, actor=u, expected_version=v),
            transition="submit_scope",
            style="success",
            done=_("The scope went to an approver."),
        ),
        OrderAction(
            "approve_scope",
            _("Approve the scope and start the export"),
            lambda o, u, d, v: svc.approve_scope(o, actor=u, note=d.get("note", ""), expected_version=v),
            form=f.NoteForm,
            transition="approve_scope",
            style="success",
            done=_("Scope approved; the export has started."),
        ),
        OrderAction(
            "return_scope",
            _("Return the scope to the officer"),
            lambda o, u, d, v: svc.return_scope(o, actor=u, reason=d["reason"], expected_version=v),
            form=f.ReasonForm,
            transition="return_scope",
            style="outline-danger",
            done=_("The scope went back to scoping."),
        ),
        OrderAction(
            "retry_export",
            _("Retry the export"),
            lambda o, u, d, v: svc.retry_export(o, actor=u, expected_version=v),
            transition="retry_export",
            done=_("The export was started again."),
        ),
        OrderAction(
            "release",
            _("Release the package"),
            lambda o, u, d, v: svc.release(o, actor=u, expected_version=v),
            transition="release",
            style="success",
            done=_("The package is released and sealed."),
        ),
        OrderAction(
            "return_package",
            _("Return the package for a new scope"),
            lambda o, u, d, v: svc.return_package(o, actor=u, reason=d["reason"], expected_version=v),
            form=f.ReasonForm,
            transition="return_package",
            style="outline-danger",
            done=_("The package went back to scoping."),
        ),
        OrderAction(
            "record_delivery",
            _("Record the delivery"),
            lambda o, u, d, v: svc.record_delivery(
                o,
                actor=u,
                method=d["method"],
                recipient=d["recipient"],
                delivered_at=d["delivered_at"],
                proof=d["proof"],
                expected_version=v,
            ),
            form=f.DeliveryForm,
            transition="record_delivery",
            done=_("Delivery recorded."),
        ),
        OrderAction(
            "close",
            _("Close the order"),
            lambda o, u, d, v: svc.close(o, actor=u, outcome=d["outcome"], expected_version=v),
            form=f.CloseForm,
            transition="close",
            style="secondary",
            done=_("The order is closed."),
        ),
        OrderAction(
            "reject",
            _("Reject the order"),
            lambda o, u, d, v: svc.reject(o, actor=u, code=d["code"], letter=d["letter"], expected_version=v),
            form=f.RejectForm,
            transition="reject",
            style="outline-danger",
            done=_("The order is rejected."),
        ),
        OrderAction(
            "withdraw",
            _("Record that the authority withdrew the order"),
            lambda o, u, d, v: svc.withdraw(o, actor=u, reason=d["reason"], expected_version=v),
            form=f.ReasonForm,
            transition="withdraw",
            style="outline-secondary",
            done=_("The order is withdrawn."),
        ),
        OrderAction(
            "record_formal_order",
            _("Record the formal order's arrival"),
            lambda o, u, d, v: svc.record_formal_order(
                o, actor=u, received_on=d["received_on"], expected_version=v
            ),
            form=f.FormalOrderForm,
            states=tuple(s for s in S.values if s not in (S.RECEIVED, S.VERIFYING, S.CLOSED)),
            permission="workflow.verify_order",
            style="outline-primary",
            done=_("The formal order is on file."),
        ),
        OrderAction(
            "lift_non_disclosure",
            _("The authority lifted its non-disclosure order"),
            lambda o, u, d, v: svc.lift_non_disclosure(o, actor=u, expected_version=v),
            states=tuple(S.values),
            permission="workflow.deliver_order",
            style="outline-secondary",
            done=_("Non-disclosure lifted: the customer may now be told."),
        ),
    ]
}

# The order in which the page lists what can be done next: forward first, exits last.
FORWARD = [
    "start_verification",
    "verify",
    "verify_emergency",
    "receive_clarification",
    "request_clarification",
    "submit_scope",
    "approve_scope",
    "return_scope",
    "retry_export",
    "release",
    "return_package",
    "record_delivery",
    "close",
    "record_formal_order",
    "lift_non_disclosure",
    "reject",
    "withdraw",
]


def applies(action: OrderAction, order: DisclosureOrder) -> bool:
    """Whether the action is relevant to this order in its current state (for anyone)."""
    if action.transition:
        meta = getattr(order, action.transition)._django_fsm
        return bool(meta.has_transition(meta.field.get_state(order)))
    if action.name == "record_formal_order":
        return order.emergency and order.formal_order_received_on is None and order.state in action.states
    if action.name == "lift_non_disclosure":
        return order.notice_withheld() and order.state in action.states
    return order.state in action.states


def offer(
    action: OrderAction, order: DisclosureOrder, user: Any, bound: forms.Form | None = None
) -> Offer | None:
    """How ``action`` appears to ``user``: None when it is not for them (or not now)."""
    if not applies(action, order):
        return None
    form = bound if bound is not None else (action.form() if action.form else None)
    if not action.transition:
        if not (user.is_active and user.has_perm(action.permission)):
            return None
        return Offer(action, enabled=True, form=form)
    meta = getattr(order, action.transition)._django_fsm
    state = meta.field.get_state(order)
    if not meta.has_transition_perm(order, state, user):
        # The role could do this, but not on this order: four eyes. Say so instead of hiding it.
        role_permission = FOUR_EYES.get(action.transition)
        if role_permission and user.has_perm(role_permission) and user.pk in order.preparer_ids():
            return Offer(
                action,
                enabled=False,
                reasons=[
                    str(_("You verified or scoped this order, so another approver must take this decision."))
                ],
            )
        return None
    unmet = unmet_conditions(order, action.transition)
    return Offer(action, enabled=not unmet, reasons=unmet, form=form)


def offers_for(order: DisclosureOrder, user: Any, bound: dict[str, forms.Form] | None = None) -> list[Offer]:
    bound = bound or {}
    result = []
    for name in FORWARD:
        shown = offer(ACTIONS[name], order, user, bound.get(name))
        if shown is not None:
            result.append(shown)
    return result
