"""The auditors' portal: read-only views of the audit trail, integrity and transparency.

Every view is GET only and gated to the auditor role (with the second factor, like all staff).
Auditors see references and hashes, never customer data: the audit trail holds nothing else,
and the case and customer pages refuse them (403) at their own gate.
"""

from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from requests_portal.accounts import staff_required
from requests_portal.roles import Role
from workflow.audit.integrity import integrity_status
from workflow.choices import AuthorityKind, InstrumentType
from workflow.errors import InvalidInput
from workflow.models import AuditEvent
from workflow.transparency import build_report, half_year_of, parse_half_year, report_csv

from . import charts, queries
from .forms import TrailFilterForm

PAGE_SIZE = 50


def _listing(request: HttpRequest, template: str, select: Any, title: str) -> HttpResponse:
    form = TrailFilterForm(request.GET or None)
    rows: QuerySet[AuditEvent] = select(form.trail_filter())
    page = Paginator(rows, PAGE_SIZE, allow_empty_first_page=True).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "events": queries.with_actor_names(list(page.object_list)),
        "title": title,
        "query": query.urlencode(),
    }
    return render(request, template, context)


@staff_required(Role.AUDITOR)
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "auditor/index.html", {"status": integrity_status()})


@staff_required(Role.AUDITOR)
@require_GET
def trail(request: HttpRequest) -> HttpResponse:
    return _listing(request, "auditor/trail.html", queries.events, "trail")


@staff_required(Role.AUDITOR)
@require_GET
def access(request: HttpRequest) -> HttpResponse:
    return _listing(request, "auditor/trail.html", queries.personal_data_access, "access")


@staff_required(Role.AUDITOR)
@require_GET
def refusals(request: HttpRequest) -> HttpResponse:
    return _listing(request, "auditor/trail.html", queries.refusals, "refusals")


@staff_required(Role.AUDITOR)
@require_GET
def order_timeline(request: HttpRequest, reference: str) -> HttpResponse:
    rows = queries.with_actor_names(list(queries.timeline(reference)))
    context = {"reference": reference, "rows": rows}
    return render(request, "auditor/order.html", context, status=200 if rows else 404)


def _period(request: HttpRequest) -> Any:
    text = request.GET.get("period", "")
    if not text:
        return half_year_of(timezone.localdate(), jalali=(request.LANGUAGE_CODE or "").startswith("fa")), None
    try:
        return parse_half_year(text), None
    except InvalidInput as err:
        return half_year_of(timezone.localdate()), err.message


@staff_required(Role.AUDITOR)
@require_GET
def transparency(request: HttpRequest) -> HttpResponse:
    period, error = _period(request)
    report = build_report(period)
    kinds = dict(AuthorityKind.choices)
    instruments = dict(InstrumentType.choices)
    by_kind = charts.bars([(str(kinds[k]), report.by_authority.get(k, 0)) for k in AuthorityKind.values])
    by_instrument_totals: dict[str, int] = {}
    for (_kind, instrument), n in report.by_authority_and_instrument.items():
        by_instrument_totals[instrument] = by_instrument_totals.get(instrument, 0) + n
    by_instrument = charts.bars(
        [(str(instruments[i]), by_instrument_totals.get(i, 0)) for i in InstrumentType.values]
    )
    matrix = [
        (str(kinds[k]), [report.by_authority_and_instrument.get((k, i), 0) for i in InstrumentType.values])
        for k in AuthorityKind.values
    ]
    context = {
        "report": report,
        "period": period,
        "error": error,
        "by_kind": by_kind,
        "by_kind_height": charts.height(by_kind),
        "by_instrument": by_instrument,
        "by_instrument_height": charts.height(by_instrument),
        "instrument_labels": [str(instruments[i]) for i in InstrumentType.values],
        "matrix": matrix,
        "subject_rows": sorted(report.data_subject.by_kind_and_outcome.items()),
    }
    return render(request, "auditor/transparency.html", context)


@staff_required(Role.AUDITOR)
@require_GET
def transparency_csv(request: HttpRequest) -> HttpResponse:
    period, error = _period(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(report_csv(build_report(period)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="transparency-{period.label}.csv"'
    return response
