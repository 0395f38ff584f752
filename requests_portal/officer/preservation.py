"""Preservation orders: keep a customer's data under legal hold; nothing leaves the store."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from requests_portal.accounts import staff_required
from requests_portal.roles import Role
from workflow.errors import DomainError, InvalidInput
from workflow.models import PreservationOrder, PreservationState
from workflow.models.conditions import unmet_conditions
from workflow.permissions import orders_visible_to, preservation_orders_visible_to
from workflow.services import preservation as svc

from . import forms as f
from .timeline import timeline

CASE_ROLES = (Role.LEGAL_OFFICER, Role.APPROVER)
P = PreservationState


def _convert(order: PreservationOrder, user: Any, data: dict[str, Any]) -> PreservationOrder:
    disclosure = (
        orders_visible_to(user).filter(reference=data["disclosure_reference"].strip().upper()).first()
    )
    if disclosure is None:
        raise InvalidInput(
            _("No disclosure order has that reference."),
            field_errors={"disclosure_reference": [_("No disclosure order has that reference.")]},
        )
    return svc.convert(order, actor=user, disclosure=disclosure)


@dataclass(frozen=True)
class HoldAction:
    name: str
    label: str | Promise
    call: Callable[[PreservationOrder, Any, dict[str, Any]], PreservationOrder]
    form: type[forms.Form] | None = None
    style: str = "primary"


HOLD_ACTIONS = {
    a.name: a
    for a in [
        HoldAction(
            "start_verification",
            gettext_lazy("Start verification"),
            lambda o, u, d: svc.start_verification(o, actor=u),
        ),
        HoldAction(
            "verify",
            gettext_lazy("Record the matched customers and mark verified"),
            lambda o, u, d: svc.verify(o, actor=u, customer_keys=d["customer_keys"]),
            form=f.CustomerKeysForm,
            style="success",
        ),
        HoldAction(
            "place_hold",
            gettext_lazy("Place the legal hold"),
            lambda o, u, d: svc.place_hold(o, actor=u),
            style="success",
        ),
        HoldAction(
            "renew",
            gettext_lazy("Renew the hold"),
            lambda o, u, d: svc.renew(o, actor=u, until=d["until"]),
            form=f.RenewForm,
        ),
        HoldAction(
            "release_hold",
            gettext_lazy("Release the hold"),
            lambda o, u, d: svc.release_hold(o, actor=u, reason=d["reason"]),
            form=f.ReasonForm,
            style="outline-danger",
        ),
        HoldAction(
            "convert",
            gettext_lazy("Converted: a disclosure order followed"),
            _convert,
            form=f.ConvertForm,
            style="outline-primary",
        ),
        HoldAction(
            "reject",
            gettext_lazy("Reject the order"),
            lambda o, u, d: svc.reject(o, actor=u, code=d["code"], letter=d["letter"]),
            form=f.RejectForm,
            style="outline-danger",
        ),
    ]
}


def hold_offers(order: PreservationOrder, user: Any, bound: dict[str, forms.Form]) -> list[dict[str, Any]]:
    offers = []
    for action in HOLD_ACTIONS.values():
        meta = getattr(order, action.name)._django_fsm
        state = meta.field.get_state(order)
        if not meta.has_transition(state):
            continue
        form = bound.get(action.name) or (action.form() if action.form else None)
        if not meta.has_transition_perm(order, state, user):
            if action.name in ("place_hold", "renew", "release_hold") and user.has_perm(
                "workflow.approve_preservation"
            ):
                offers.append(
                    {
                        "action": action,
                        "enabled": False,
                        "form": None,
                        "reasons": [
                            _("You verified this order, so another approver must place or change the hold.")
                        ],
                    }
                )
            continue
        unmet = unmet_conditions(order, action.name)
        offers.append({"action": action, "enabled": not unmet, "reasons": unmet, "form": form})
    return offers


@staff_required(*CASE_ROLES)
@require_GET
def preservation_list(request: HttpRequest) -> HttpResponse:
    orders = preservation_orders_visible_to(request.user).order_by("-received_on", "id")
    state = request.GET.get("state", "")
    if state in P.values:
        orders = orders.filter(state=state)
    page = Paginator(orders, 50).get_page(request.GET.get("page"))
    return render(
        request, "officer/preservation_list.html", {"page": page, "state": state, "states": P.choices}
    )


def _visible(request: HttpRequest, reference: str) -> PreservationOrder:
    return get_object_or_404(preservation_orders_visible_to(request.user), reference=reference)


def _page(
    request: HttpRequest,
    order: PreservationOrder,
    bound: dict[str, forms.Form] | None = None,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "order": order,
        "offers": hold_offers(order, request.user, bound or {}),
        "timeline": timeline(order),
        "refusal": refusal,
        "disclosure": order.converted_to if order.converted_to_id else None,
    }
    return render(request, "officer/preservation.html", context, status=status)


@staff_required(*CASE_ROLES)
@require_GET
def preservation_page(request: HttpRequest, reference: str) -> HttpResponse:
    return _page(request, _visible(request, reference))


@staff_required(*CASE_ROLES)
@require_POST
def preservation_act(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    order = _visible(request, reference)
    spec = HOLD_ACTIONS.get(action)
    if spec is None:
        raise Http404
    form = spec.form(request.POST) if spec.form else None
    if form is not None and not form.is_valid():
        return _page(request, order, {action: form}, _("Correct the marked fields."), 400)
    try:
        spec.call(order, request.user, form.cleaned_data if form else {})
    except DomainError as err:
        if isinstance(err, InvalidInput) and form is not None:
            form.add_service_errors(err.field_errors, err.message)  # type: ignore[attr-defined]
        fresh = _visible(request, reference)
        return _page(request, fresh, {action: form} if form else None, str(err), err.http_status)
    messages.success(request, _("Done."))
    return redirect("officer:preservation", reference=order.reference)


@staff_required(Role.LEGAL_OFFICER)
def preservation_intake(request: HttpRequest) -> HttpResponse:
    form = f.PreservationIntakeForm(request.POST or None)
    identifiers = f.IdentifierFormSet(request.POST or None, prefix="identifier")
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid() and identifiers.is_valid():
            data = form.cleaned_data
            pairs = [
                (r["kind"], r["value"]) for r in identifiers.cleaned_data if r.get("kind") and r.get("value")
            ]
            try:
                order = svc.register_preservation(
                    actor=request.user,
                    authority=data["authority"],
                    authority_reference=data["authority_reference"],
                    issued_on=data["issued_on"],
                    received_on=data["received_on"],
                    identifiers=pairs,
                    hold_expires_on=data["hold_expires_on"],
                    legal_basis=data["legal_basis"],
                )
            except DomainError as err:
                if isinstance(err, InvalidInput):
                    form.add_service_errors(err.field_errors, err.message)
                else:
                    form.add_error(None, str(err))
            else:
                messages.success(request, _("Order %(ref)s registered.") % {"ref": order.reference})
                return redirect("officer:preservation", reference=order.reference)
    return render(
        request, "officer/preservation_intake.html", {"form": form, "identifiers": identifiers}, status=status
    )
