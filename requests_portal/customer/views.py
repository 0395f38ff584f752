"""Customer pages: gate → form → service → redirect (STYLE.md)."""

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from workflow import customer_store
from workflow.errors import DomainError, InvalidInput
from workflow.ledger import ledger_for
from workflow.models import RequestKind
from workflow.package.wording import category_label
from workflow.services import dsr
from workflow.services.customers import request_sign_in_code, verify_sign_in_code

from . import session
from .forms import CodeForm, IdentifierForm, RequestForm


def _client_ip(request: HttpRequest) -> str:
    # Behind a proxy the operator sets the real address into REMOTE_ADDR (e.g. gunicorn's
    # --forwarded-allow-ips); a client-supplied X-Forwarded-For is never trusted here.
    return str(request.META.get("REMOTE_ADDR", ""))


def _refuse(form: object, err: DomainError) -> None:
    for field, errors in getattr(err, "field_errors", {}).items():
        for message in errors:
            form.add_error(field if field in form.fields else None, message)  # type: ignore[attr-defined]
    form.add_error(None, err.message)  # type: ignore[attr-defined]


def sign_in(request: HttpRequest) -> HttpResponse:
    """Step 1: the identifier. The answer is the same whether or not it is registered."""
    if session.signed_in_customer(request):
        return redirect("customer:ledger")
    form = IdentifierForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            pending = request_sign_in_code(form.cleaned_data["identifier"], ip=_client_ip(request))
        except DomainError as err:
            _refuse(form, err)
            status = err.http_status
        else:
            session.remember_pending(request, pending)
            return redirect("customer:enter_code")
    return render(request, "customer/sign_in.html", {"form": form}, status=status)


def enter_code(request: HttpRequest) -> HttpResponse:
    """Step 2: the code."""
    pending = session.pending_sign_in(request)
    if pending is None:
        return redirect("customer:sign_in")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            customer_key = verify_sign_in_code(pending, form.cleaned_data["code"], ip=_client_ip(request))
        except DomainError as err:
            _refuse(form, err)
            status = err.http_status
        else:
            session.sign_in(request, customer_key)
            return redirect("customer:ledger")
    return render(
        request, "customer/enter_code.html", {"form": form, "channel": pending.channel}, status=status
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    session.sign_out(request)
    return redirect("customer:sign_in")


@session.customer_required
def ledger(request: HttpRequest) -> HttpResponse:
    language = (get_language() or "fa")[:2]
    entries = ledger_for(request.customer_key, language=language)  # type: ignore[attr-defined]
    return render(request, "customer/ledger.html", {"entries": entries})


@session.customer_required
def ledger_json(request: HttpRequest) -> HttpResponse:
    """The same ledger for programs (the store's app): the same gate, the same entries."""
    language = "en" if (request.GET.get("lang") or get_language() or "fa").startswith("en") else "fa"
    entries = ledger_for(request.customer_key, language=language)  # type: ignore[attr-defined]
    return JsonResponse(
        {
            "disclosures": [
                {
                    "date": entry.disclosed_on.isoformat(),
                    "authority": entry.authority_name,
                    "instrument": entry.instrument_label,
                    "authority_reference": entry.authority_reference,
                    "categories": list(entry.categories),
                    "category_labels": entry.category_labels,
                }
                for entry in entries
            ]
        },
        json_dumps_params={"ensure_ascii": False},
    )


@session.customer_required
def my_requests(request: HttpRequest) -> HttpResponse:
    requests = dsr.requests_of(request.customer_key).order_by("-submitted_at")  # type: ignore[attr-defined]
    return render(request, "customer/requests.html", {"requests": requests})


@session.customer_required
def new_request(request: HttpRequest) -> HttpResponse:
    customer_key: str = request.customer_key  # type: ignore[attr-defined]
    form = RequestForm(request.POST or None, fields=customer_store.rectifiable_fields(customer_key))
    status = 200
    if request.method == "POST" and form.is_valid():
        kind = form.cleaned_data["kind"]
        details: dict[str, object] = {}
        if kind == RequestKind.ERASURE:
            details = {"categories": form.cleaned_data["categories"]}
        elif kind == RequestKind.RECTIFICATION:
            details = {"corrections": form.corrections()}
        try:
            filed = dsr.file_request(
                customer_key=customer_key,
                kind=kind,
                language=(get_language() or "fa")[:2],
                details=details,
                note=form.cleaned_data["note"],
            )
        except InvalidInput as err:
            _refuse(form, err)
            status = 400
        else:
            messages.success(request, _("Your request %(ref)s was received.") % {"ref": filed.reference})
            return redirect("customer:request", reference=filed.reference)
    return render(request, "customer/new_request.html", {"form": form}, status=status)


@session.customer_required
def request_detail(request: HttpRequest, reference: str) -> HttpResponse:
    # Another customer's request is not found, exactly as a request that does not exist.
    found = dsr.own_request(request.customer_key, reference)  # type: ignore[attr-defined]
    if found is None:
        raise Http404
    language = (get_language() or "fa")[:2]
    outcome = [
        {**line, "label": category_label(line["category"], language) if line.get("category") else ""}
        for line in found.outcome
    ]
    return render(request, "customer/request.html", {"dsr": found, "outcome": outcome})


@session.customer_required
def download_package(request: HttpRequest, reference: str) -> HttpResponse:
    customer_key: str = request.customer_key  # type: ignore[attr-defined]
    found = dsr.own_request(customer_key, reference, kind=RequestKind.ACCESS)
    if found is None or not found.package_file:
        raise Http404
    dsr.record_download(found, customer_key=customer_key)
    return FileResponse(
        default_storage.open(found.package_file, "rb"),
        as_attachment=True,
        filename=f"{found.reference}.pdf",
        content_type="application/pdf",
    )
