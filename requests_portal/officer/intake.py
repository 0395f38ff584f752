"""Registering an incoming disclosure order, with its scanned document."""

from typing import Any

from django.contrib import messages
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from requests_portal.accounts import staff_required
from requests_portal.roles import Role
from workflow.errors import DomainError, InvalidInput
from workflow.models import DisclosureOrder
from workflow.services import disclosure as svc

from .documents import CleanDocument, clean_pdf
from .forms import IdentifierFormSet, IntakeForm


def register_with_document(
    intake: svc.Intake, document: CleanDocument | None, *, actor: Any
) -> DisclosureOrder:
    """Register the order and store its document in one transaction: the document's SHA-256 is
    in the audited registration, and the stored file is the one that hash names."""
    with transaction.atomic():
        order = svc.register_order(intake, actor=actor)
        if document is not None:
            stored = order.document.storage.save(
                f"orders/{order.reference}.pdf", ContentFile(document.content)
            )
            # Only the file's path is written here; what it is (its hash) was audited above.
            DisclosureOrder.objects.filter(pk=order.pk).update(document=stored)
    return order


@staff_required(Role.LEGAL_OFFICER)
def intake(request: HttpRequest) -> HttpResponse:
    form = IntakeForm(request.POST or None, request.FILES or None)
    identifiers = IdentifierFormSet(request.POST or None, prefix="identifier")
    if request.method == "POST":
        if form.is_valid() and identifiers.is_valid():
            try:
                document = (
                    clean_pdf(form.cleaned_data["document"]) if form.cleaned_data.get("document") else None
                )
                order = register_with_document(
                    _intake_of(form.cleaned_data, identifiers, document), document, actor=request.user
                )
            except DomainError as err:
                if isinstance(err, InvalidInput):
                    form.add_service_errors(err.field_errors, err.message)
                else:
                    form.add_error(None, str(err))
            else:
                if document is not None and document.removed:
                    messages.warning(
                        request,
                        _("Active content was removed from the scanned order: %(what)s.")
                        % {
                            "what": "، ".join(document.removed)
                            if request.LANGUAGE_CODE == "fa"
                            else ", ".join(document.removed)
                        },
                    )
                messages.success(request, _("Order %(ref)s registered.") % {"ref": order.reference})
                return redirect("officer:order", reference=order.reference)
        status = 400
    else:
        status = 200
    context = {"form": form, "identifiers": identifiers}
    return render(request, "officer/intake.html", context, status=status)


def _intake_of(data: dict[str, Any], identifiers: Any, document: CleanDocument | None) -> svc.Intake:
    pairs = [
        (row["kind"], row["value"])
        for row in identifiers.cleaned_data
        if row.get("kind") and row.get("value")
    ]
    return svc.Intake(
        authority=data["authority"],
        instrument=data["instrument"],
        authority_reference=data["authority_reference"],
        issued_on=data["issued_on"],
        received_on=data["received_on"],
        due_on=data["due_on"],
        categories=data["categories"],
        requested_from=data["requested_from"],
        requested_to=data["requested_to"],
        identifiers=pairs,
        notice_rule=data["notice_rule"],
        notice_withheld_until=data.get("notice_withheld_until"),
        emergency=data["emergency"],
        language=data["language"],
        legal_basis=data["legal_basis"],
        document_sha256=document.sha256 if document else "",
    )
