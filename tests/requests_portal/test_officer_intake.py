"""Registering an order from the intake form, and the scanned document's safety checks."""

import hashlib
import io
import re
from typing import Any

import pikepdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from requests_portal.officer.documents import clean_pdf
from tests.factories import sign_in_staff
from workflow.errors import InvalidInput
from workflow.models import AuditEvent, DisclosureOrder


@pytest.fixture
def officer_client(client: Any, officer: Any) -> Any:
    sign_in_staff(client, officer)
    return client


def pdf_bytes(*, script: bool = False, launch: bool = False, attachment: bool = False) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    if script:
        pdf.Root.OpenAction = pdf.make_indirect(
            pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('x')"))
        )
        pdf.Root.Names = pikepdf.Dictionary(
            JavaScript=pikepdf.Dictionary(
                Names=pikepdf.Array(
                    [
                        "a",
                        pdf.make_indirect(
                            pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("1"))
                        ),
                    ]
                )
            )
        )
    if launch:
        pdf.pages[0].obj.Annots = pdf.make_indirect(
            pikepdf.Array(
                [
                    pikepdf.Dictionary(
                        Type=pikepdf.Name.Annot,
                        Subtype=pikepdf.Name.Link,
                        Rect=[0, 0, 10, 10],
                        A=pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("calc.exe")),
                    )
                ]
            )
        )
    if attachment:
        pdf.attachments["payload.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ...")
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def intake_data(authority: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "authority": authority.pk,
        "instrument": "court_order",
        "authority_reference": "۹۹۰۳-۱۴۰۲-۱۲۳",
        "issued_on": "1403/12/20",
        "received_on": "2025-03-12",
        "due_on": "۱۴۰۴/۰۱/۱۵",
        "categories": ["identity", "order"],
        "requested_from": "1403/01/01",
        "requested_to": "1403/12/29",
        "notice_rule": "notify",
        "language": "fa",
        "legal_basis": "Article 104",
        "identifier-TOTAL_FORMS": "2",
        "identifier-INITIAL_FORMS": "0",
        "identifier-0-kind": "national_id",
        "identifier-0-value": "۰۴۹۹۳۷۰۸۹۹",
        "identifier-1-kind": "mobile",
        "identifier-1-value": "0912 123 4567",
    }
    data.update(overrides)
    return data


def post_intake(client: Any, data: dict[str, Any], lang: str = "en") -> Any:
    return client.post(reverse("officer:intake"), data, HTTP_ACCEPT_LANGUAGE=lang)


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_an_officer_registers_an_order_with_jalali_dates_and_persian_digits(
    officer_client: Any, authority: Any
) -> None:
    document = pdf_bytes()
    data = intake_data(authority, document=SimpleUploadedFile("order.pdf", document, "application/pdf"))
    response = post_intake(officer_client, data)
    assert response.status_code == 302, re.findall(r"errorlist.{0,200}", text(response))
    order = DisclosureOrder.objects.get()
    assert str(order.issued_on) == "2025-03-10"
    assert str(order.due_on) == "2025-04-04"
    assert order.authority_reference == "9903-1402-123"
    assert set(order.identifiers.values_list("normalized", flat=True)) == {"0499370899", "+989121234567"}
    stored = order.document.read()
    assert order.document_sha256 == hashlib.sha256(stored).hexdigest()
    received = AuditEvent.objects.get(action="order.received")
    assert received.data["document_sha256"] == order.document_sha256


def test_every_bad_field_is_reported_next_to_itself(officer_client: Any, authority: Any) -> None:
    data = intake_data(
        authority,
        issued_on="1403/02/31x",
        received_on="2025-03-01",
        requested_to="1402/01/01",
        **{"identifier-0-value": "1234567890"},
    )
    response = post_intake(officer_client, data)
    assert response.status_code == 400
    html = text(response)
    assert 'id="id_issued_on_error"' in html
    assert 'id="id_identifier-0-value_error"' in html
    assert "fails its check digit" in html
    assert not DisclosureOrder.objects.exists()


def test_the_services_rules_are_shown_next_to_their_fields(officer_client: Any, authority: Any) -> None:
    data = intake_data(authority, requested_from="1403/06/01", requested_to="1403/01/01")
    response = post_intake(officer_client, data)
    assert response.status_code == 400
    assert 'id="id_requested_to_error"' in text(response)
    assert "ends before it starts" in text(response)


def test_intake_errors_are_in_persian_for_a_persian_reader(officer_client: Any, authority: Any) -> None:
    response = post_intake(officer_client, intake_data(authority, authority_reference=""), lang="fa")
    assert response.status_code == 400
    assert "این فیلد لازم است" in text(response)


def test_a_file_that_is_not_a_pdf_is_refused_whatever_its_name(officer_client: Any, authority: Any) -> None:
    fake = SimpleUploadedFile("order.pdf", b"MZ\x90\x00 this is an executable", "application/pdf")
    response = post_intake(officer_client, intake_data(authority, document=fake))
    assert response.status_code == 400
    assert 'id="id_document_error"' in text(response)
    assert "not a PDF" in text(response)
    assert not DisclosureOrder.objects.exists()


def test_a_file_name_with_a_direction_override_is_refused() -> None:
    tricky = SimpleUploadedFile("order\u202efdp.exe.pdf", pdf_bytes(), "application/pdf")
    with translation.override("en"), pytest.raises(InvalidInput, match="direction-control"):
        clean_pdf(tricky)


def test_the_uploaded_name_is_never_used_to_store_the_document(officer_client: Any, authority: Any) -> None:
    # Django's upload parser already drops invisible characters from names; the portal goes
    # further and stores the scan under the order's own reference.
    tricky = SimpleUploadedFile("order\u202efdp.exe.pdf", pdf_bytes(), "application/pdf")
    assert post_intake(officer_client, intake_data(authority, document=tricky)).status_code == 302
    order = DisclosureOrder.objects.get()
    assert order.document.name == f"orders/{order.reference}.pdf"


def test_a_file_over_the_size_limit_is_refused(officer_client: Any, authority: Any, settings: Any) -> None:
    settings.ORDER_DOCUMENT_MAX_BYTES = 1000
    big = SimpleUploadedFile("order.pdf", b"%PDF-1.7\n" + b"0" * 2000, "application/pdf")
    response = post_intake(officer_client, intake_data(authority, document=big))
    assert response.status_code == 400
    assert "larger than" in text(response)


def test_scripts_launch_actions_and_embedded_files_are_removed_before_storing(
    officer_client: Any, authority: Any
) -> None:
    dangerous = pdf_bytes(script=True, launch=True, attachment=True)
    upload = SimpleUploadedFile("order.pdf", dangerous, "application/pdf")
    response = post_intake(officer_client, intake_data(authority, document=upload))
    assert response.status_code == 302
    order = DisclosureOrder.objects.get()
    with pikepdf.open(io.BytesIO(order.document.read())) as stored:
        assert "/OpenAction" not in stored.Root
        assert "/Names" not in stored.Root or "/JavaScript" not in stored.Root.Names
        assert len(stored.attachments) == 0
        assert not any("/Launch" in str(obj) for obj in stored.objects if isinstance(obj, pikepdf.Dictionary))
        assert len(stored.pages) == 1
    page = text(
        officer_client.get(reverse("officer:order", args=[order.reference]), HTTP_ACCEPT_LANGUAGE="en")
    )
    assert "Active content was removed" in page


def test_the_stored_document_downloads_for_the_desk(officer_client: Any, authority: Any) -> None:
    upload = SimpleUploadedFile("order.pdf", pdf_bytes(), "application/pdf")
    post_intake(officer_client, intake_data(authority, document=upload))
    order = DisclosureOrder.objects.get()
    response = officer_client.get(reverse("officer:document", args=[order.reference]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert "attachment" in response["Content-Disposition"]


def test_an_approver_cannot_register_orders(client: Any, approver: Any, authority: Any) -> None:
    sign_in_staff(client, approver)
    assert client.get(reverse("officer:intake")).status_code == 403
    assert post_intake(client, intake_data(authority)).status_code == 403
    assert not DisclosureOrder.objects.exists()
