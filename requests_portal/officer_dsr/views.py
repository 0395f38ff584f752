"""Officer screens for data-subject requests: gate → form → service → redirect."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from requests_portal.accounts import staff_required
from requests_portal.roles import Role
from workflow.errors import DomainError
from workflow.models import OPEN_REQUEST_STATES, DataSubjectRequest
from workflow.services import dsr as svc
from workflow.services import erasure
from workflow.services.preservation import held_customer_keys

DESK = (Role.LEGAL_OFFICER, Role.APPROVER)


def requests_visible_to(user: Any) -> Any:
    """The desk sees every customer request; nobody else sees any (one gate, like orders)."""
    if getattr(user, "role", None) not in DESK:
        return DataSubjectRequest.objects.none()
    return DataSubjectRequest.objects.all()


@staff_required(*DESK)
def request_list(request: HttpRequest) -> HttpResponse:
    visible = requests_visible_to(request.user)
    show = request.GET.get("show", "open")
    if show == "open":
        visible = visible.filter(state__in=OPEN_REQUEST_STATES)
    return render(
        request, "officer/dsr/list.html", {"requests": visible.order_by("due_on", "id")[:200], "show": show}
    )


@staff_required(*DESK)
def request_detail(request: HttpRequest, reference: str) -> HttpResponse:
    found = get_object_or_404(requests_visible_to(request.user), reference=reference)
    svc.record_view(found, actor=request.user)
    context = {
        "dsr": found,
        "held": found.customer_key in held_customer_keys(),
        "plan": erasure.erasure_plan(found.customer_key, found.details.get("categories", []))
        if found.kind == "erasure"
        else [],
    }
    return render(request, "officer/dsr/detail.html", context)


def _version(request: HttpRequest) -> int | None:
    value = request.POST.get("version", "")
    return int(value) if value.isdigit() else None


ACTIONS: dict[str, Callable[[DataSubjectRequest, HttpRequest], DataSubjectRequest]] = {
    "start": lambda d, r: svc.start(d, actor=r.user, expected_version=_version(r)),
    "extend": lambda d, r: svc.extend(
        d, actor=r.user, reason=r.POST.get("reason", ""), expected_version=_version(r)
    ),
    "erase": lambda d, r: erasure.carry_out_erasure(d, actor=r.user, expected_version=_version(r)),
    "rectify": lambda d, r: svc.apply_rectification(
        d,
        actor=r.user,
        accepted=r.POST.getlist("accept"),
        answer=r.POST.get("answer", ""),
        expected_version=_version(r),
    ),
    "reject": lambda d, r: svc.reject(
        d, actor=r.user, answer=r.POST.get("answer", ""), expected_version=_version(r)
    ),
}


@require_POST
@staff_required(*DESK)
def act(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404
    found = get_object_or_404(requests_visible_to(request.user), reference=reference)
    try:
        ACTIONS[action](found, request)
    except DomainError as err:
        messages.error(request, str(err))
        if err.http_status == 403:
            return render(request, "officer/dsr/detail.html", {"dsr": found, "plan": []}, status=403)
    return redirect("officer_dsr:detail", reference=found.reference)
