"""The legal officers' desk: the dashboard and the disclosure order page.

Views are short: gate (staff_required, then the visibility gate) → form → service → redirect.
A refused action re-renders the page with the service's reason (field errors next to their
fields, a stale page as a conflict), with the HTTP status the refusal carries.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from requests_portal.accounts import staff_required
from requests_portal.roles import Role
from workflow import freshness
from workflow.audit.trail import SYSTEM_STREAM
from workflow.choices import VerificationItem
from workflow.datamap.connect import SourceUnavailable
from workflow.errors import DomainError, InvalidInput, StaleVersion
from workflow.models import DisclosureOrder, DisclosureState
from workflow.package.seal import download_package
from workflow.permissions import can_see_cases
from workflow.services import disclosure as svc
from workflow.services.scoping import CustomerChoice, match_order, scope_from_matches

from . import charts, queries
from .actions import ACTIONS
from .forms import CheckForm, ScopeFormSet, ScopeJustificationForm, SearchForm
from .order_page import order_context, progress_context, read_related, visible_order
from .page_cache import PageCache, cached_page

CASE_ROLES = (Role.LEGAL_OFFICER, Role.APPROVER)
S = DisclosureState
PAGE_SIZE = 25


# The dashboard shows any order (the queue, the counts, the charts): valid until anything changes.
@cached_page(lambda: [freshness.ALL])
@staff_required(*CASE_ROLES)
@require_GET
def dashboard(request: HttpRequest, page_cache: PageCache) -> HttpResponse:
    if (cached := page_cache.get()) is not None:
        return cached
    search = SearchForm(request.GET)
    search.is_valid()
    text = search.cleaned_data.get("q", "")
    state = search.cleaned_data.get("state", "")
    orders = queries.search(request.user, text) if text else queries.queue(request.user, state=state)
    orders = orders.only(*queries.ROW_FIELDS)
    if state and state not in S.values:
        state = ""  # an unknown state in the address shows the whole queue
    counts = queries.counts_by_state(request.user)
    paginator = Paginator(orders, PAGE_SIZE, allow_empty_first_page=True)
    if not text and (not state or state in queries.OPEN_STATES):
        # The counts by state already hold the queue's length: no second COUNT over the table.
        paginator.count = counts.get(state, 0) if state else sum(counts.values())
    page = paginator.get_page(request.GET.get("page"))
    tasks = list(queries.my_tasks(request.user).only(*queries.ROW_FIELDS)[:10])
    labels = {value: str(label) for value, label in S.choices}
    persian = (get_language() or "").startswith("fa")
    dwell, dwell_as_of = queries.time_per_state()
    # State labels looked up once: get_state_display() translates every choice on each call.
    rows = [(o, queries.urgency(o), labels[o.state]) for o in page.object_list]
    task_rows = [(o, queries.urgency(o), labels[o.state]) for o in tasks]
    context: dict[str, Any] = {
        "page": page,
        "rows": rows,
        "rows_key": rows_key(rows),
        "tasks": task_rows,
        "tasks_key": rows_key(task_rows),
        "state_tiles": [(s, labels[s], counts.get(s, 0)) for s in queries.OPEN_STATES],
        "open_total": sum(counts.values()),
        "q": text,
        "state": state,
        "state_label": labels.get(state, ""),
        "month_bars": charts.month_bars(queries.volume_per_month(request.user), persian=persian),
        "state_bars": charts.duration_bars(dwell, labels),
        "state_bars_as_of": dwell_as_of,
    }
    if request.htmx:  # type: ignore[attr-defined]
        return page_cache.store(render(request, "officer/_queue.html", context))
    return page_cache.store(render(request, "officer/dashboard.html", context))


def rows_key(rows: list[tuple[DisclosureOrder, str, str]]) -> str:
    """Everything a row of the queue or of my tasks shows (with the page's language, which the
    template adds). Rendering is a pure function of it, so rows with an equal key render equal
    HTML whoever asks: their fragment is cached by this key, never by user or by time."""
    return "|".join(
        f"{o.reference},{o.authority_reference},{o.authority.display_name()},{o.state},{label},"
        f"{o.emergency:d},{o.due_on.isoformat()},{urgency}"
        for o, urgency, label in rows
    )


def _visible_order(request: HttpRequest, reference: str) -> DisclosureOrder:
    """The order through the visibility gate (404 otherwise), with its identifiers, checklist
    and scope, which the services read."""
    return read_related(visible_order(request.user, reference))


def _version(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        # A form without the version it was shown with cannot prove it is not stale.
        raise StaleVersion() from None


# Everything the page shows is audited in the order's stream, the authorities' registry in the
# system stream. An exporting order's progress moves without an event: never stored.
@cached_page(lambda reference: [f"{DisclosureOrder._meta.model_name}:{reference}", SYSTEM_STREAM])
@staff_required(*CASE_ROLES)
@require_GET
def order_page(request: HttpRequest, reference: str, page_cache: PageCache) -> HttpResponse:
    if (cached := page_cache.get()) is not None:
        # Stored for this user after ``orders_visible_to`` let them see the order; who sees
        # orders depends on the user alone (``can_see_cases``), asked again on every view.
        if not can_see_cases(request.user):
            raise Http404
        return cached
    order = visible_order(request.user, reference)  # the page's other reads are asked together
    response = render(request, "officer/order.html", order_context(request, order))
    return page_cache.store(response, cacheable=order.state != S.EXPORTING)


def refused(
    request: HttpRequest,
    order: DisclosureOrder,
    err: DomainError,
    bound: dict[str, Any] | None = None,
    matches: Any = None,
) -> HttpResponse:
    """The order page again, saying why the action was refused, with the refusal's status."""
    fresh = _visible_order(request, order.reference)
    message = err.message if isinstance(err, InvalidInput) and err.field_errors else str(err)
    context = order_context(
        request, fresh, bound=bound, refusal=message, stale=isinstance(err, StaleVersion), matches=matches
    )
    return render(request, "officer/order.html", context, status=err.http_status)


@staff_required(*CASE_ROLES)
@require_POST
def act(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    order = _visible_order(request, reference)
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    form: forms.Form | None = spec.form(request.POST) if spec.form else None
    if form is not None and not form.is_valid():
        return refused(request, order, InvalidInput(_("Correct the marked fields.")), {action: form})
    try:
        spec.call(order, request.user, form.cleaned_data if form else {}, _version(request))
    except DomainError as err:
        if isinstance(err, InvalidInput) and form is not None:
            form.add_service_errors(err.field_errors, err.message)  # type: ignore[attr-defined]
        return refused(request, order, err, {action: form} if form is not None else None)
    messages.success(request, str(spec.done))
    return redirect("officer:order", reference=order.reference)


@staff_required(*CASE_ROLES)
@require_GET
def progress(request: HttpRequest, reference: str) -> HttpResponse:
    """The export's progress for HTMX polling. When the order has moved on (ready, failed),
    the whole live part of the page is swapped so that its new actions appear without a reload."""
    order = _visible_order(request, reference)
    shown = request.GET.get("v", "")
    if order.state == S.EXPORTING and shown == str(order.version):
        return render(
            request, "officer/_progress.html", {"order": order, "progress": progress_context(order)}
        )
    response = render(request, "officer/_order_body.html", order_context(request, order))
    response["HX-Retarget"] = "#order-body"
    response["HX-Reswap"] = "outerHTML"
    return response


@staff_required(*CASE_ROLES)
@require_GET
def document(request: HttpRequest, reference: str) -> HttpResponse:
    order = _visible_order(request, reference)
    if not order.document:
        raise Http404
    response = FileResponse(
        order.document.open("rb"),
        as_attachment=True,
        filename=f"{order.reference}.pdf",
        content_type="application/pdf",
    )
    response["Content-Security-Policy"] = "sandbox"
    return response


@staff_required(*CASE_ROLES)
@require_POST
def record_check(request: HttpRequest, reference: str, item: str) -> HttpResponse:
    """One item of the verification checklist (the authenticity item says who was called)."""
    order = _visible_order(request, reference)
    if item not in VerificationItem.values:
        raise Http404
    form = CheckForm(request.POST, authority=order.authority, prefix=item)
    key = f"check:{item}"
    if not form.is_valid():
        return refused(request, order, InvalidInput(_("Correct the marked fields.")), {key: form})
    data = form.cleaned_data
    details = {k: data[k] for k in ("contact_id", "spoke_with", "called_at") if data.get(k)}
    try:
        svc.record_check(
            order,
            actor=request.user,
            item=item,
            passed=data["passed"],
            note=data["note"],
            details=details,
            expected_version=_version(request),
        )
    except DomainError as err:
        if isinstance(err, InvalidInput):
            form.add_service_errors(err.field_errors, err.message)
        return refused(request, order, err, {key: form})
    messages.success(request, _("Checklist item recorded."))
    return redirect(f"{reverse('officer:order', args=[order.reference])}#checklist")


@staff_required(*CASE_ROLES)
@require_POST
def set_scope(request: HttpRequest, reference: str) -> HttpResponse:
    """Replace the scope with the lines of the form (one per matched customer)."""
    order = _visible_order(request, reference)
    formset = ScopeFormSet(request.POST, prefix="scope")
    justification = ScopeJustificationForm(request.POST)
    bound = {"scope": formset, "scope_justification": justification}
    if not (formset.is_valid() and justification.is_valid()):
        return refused(request, order, InvalidInput(_("Correct the marked fields.")), bound)
    previous = {i.customer_key: i.match_evidence for i in order.scope_items.all()}
    lines = []
    for line in formset.cleaned_data:
        if not line or line.get("DELETE"):
            continue
        key = line["customer_key"].strip()
        # Evidence found by matching is kept; a line typed by hand says so, in the officer's words.
        evidence = previous.get(key) or [{"method": "entered by hand", "note": line.get("evidence", "")}]
        lines.append(svc.ScopeLine(key, line["categories"], line["date_from"], line["date_to"], evidence))
    try:
        svc.set_scope(
            order,
            actor=request.user,
            lines=lines,
            third_party_justification=justification.cleaned_data["third_party_justification"],
            expected_version=_version(request),
        )
    except DomainError as err:
        if isinstance(err, InvalidInput):
            justification.add_service_errors(err.field_errors, err.message)
        return refused(request, order, err, bound)
    messages.success(request, _("Scope saved."))
    return redirect(f"{reverse('officer:order', args=[order.reference])}#scope")


@staff_required(*CASE_ROLES)
@require_POST
def match(request: HttpRequest, reference: str) -> HttpResponse:
    """Match the order's identifiers against the store and show each match with its evidence
    (the lookup is audited by the service; nothing is stored until the officer chooses)."""
    order = _visible_order(request, reference)
    try:
        report = match_order(order, actor=request.user)
    except (DomainError, SourceUnavailable) as err:
        domain = (
            err
            if isinstance(err, DomainError)
            else DomainError(_("The store cannot be reached: %(e)s") % {"e": err})
        )
        return refused(request, order, domain)
    context = order_context(request, _visible_order(request, reference), matches=report)
    return render(request, "officer/order.html", context)


@staff_required(*CASE_ROLES)
@require_POST
def scope_matches(request: HttpRequest, reference: str) -> HttpResponse:
    """Put the chosen matched customers in the scope, each line carrying its match evidence."""
    order = _visible_order(request, reference)
    justification = ScopeJustificationForm(request.POST)
    justification.is_valid()
    choices = [CustomerChoice(key) for key in request.POST.getlist("customer")]
    try:
        scope_from_matches(
            order,
            actor=request.user,
            choices=choices,
            third_party_justification=justification.cleaned_data.get("third_party_justification", ""),
            expected_version=_version(request),
        )
    except (DomainError, SourceUnavailable) as err:
        domain = (
            err
            if isinstance(err, DomainError)
            else DomainError(_("The store cannot be reached: %(e)s") % {"e": err})
        )
        return refused(request, order, domain)
    messages.success(request, _("Scope saved."))
    return redirect(f"{reverse('officer:order', args=[order.reference])}#scope")


@staff_required(*CASE_ROLES)
@require_GET
def package(request: HttpRequest, reference: str) -> HttpResponse:
    """The package: the signed one once released, else the built one for review before release.
    ``?inline=1`` opens it in the browser (preview); every download is audited by the service."""
    order = _visible_order(request, reference)
    try:
        filename, content = download_package(order, actor=request.user)
    except DomainError as err:
        return refused(request, order, err)
    inline = request.GET.get("inline") == "1"
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
