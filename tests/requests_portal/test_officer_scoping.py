"""Scoping on the order page: matches with their evidence, and the package's preview/download."""

import re
from typing import Any

import pytest
from django.urls import reverse

from tests.factories import make_order, sign_in_staff
from tests.workflow.store_helpers import seed
from workflow.models import AuditEvent, DisclosureOrder, DisclosureState
from workflow.store import PERSONAS

S = DisclosureState
MARYAM = PERSONAS[0]


@pytest.fixture
def store(tmp_path: Any, settings: Any) -> Any:
    seeded = seed(tmp_path, customers=20)
    settings.STORE_DATAMAPS = [str(seeded.datamap_path)]
    return seeded


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_an_officer_finds_matches_with_evidence_and_scopes_them(
    client: Any, officer: Any, store: Any
) -> None:
    order = make_order(S.SCOPING, officer=officer, identifiers=[("national_id", MARYAM.national_id)])
    sign_in_staff(client, officer)
    response = client.post(reverse("officer:match", args=[order.reference]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = text(response)
    assert 'id="matches"' in html
    assert "Matched one customer" in html
    assert "national_id" in html  # the evidence names the column that matched
    assert AuditEvent.objects.filter(action="order.identifiers_matched").count() == 1
    order = DisclosureOrder.objects.get(pk=order.pk)
    response = client.post(
        reverse("officer:scope_matches", args=[order.reference]),
        {"customer": "store:1", "version": order.version, "third_party_justification": ""},
    )
    assert response.status_code == 302
    item = DisclosureOrder.objects.get(pk=order.pk).scope_items.get()
    assert item.customer_key == "store:1"
    assert item.match_evidence[0]["column"] == "national_id"


def test_a_customer_the_order_never_matched_cannot_be_scoped(client: Any, officer: Any, store: Any) -> None:
    order = make_order(S.SCOPING, officer=officer, identifiers=[("national_id", MARYAM.national_id)])
    sign_in_staff(client, officer)
    response = client.post(
        reverse("officer:scope_matches", args=[order.reference]),
        {"customer": "store:19", "version": order.version},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "was not matched by any identifier of this order" in text(response)
    assert not DisclosureOrder.objects.get(pk=order.pk).scope_items.exists()


def test_an_approver_cannot_run_matching(client: Any, officer: Any, approver: Any, store: Any) -> None:
    order = make_order(S.SCOPING, officer=officer)
    sign_in_staff(client, approver)
    response = client.post(reverse("officer:match", args=[order.reference]))
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="order.identifiers_matched").exists()


def test_the_approver_previews_the_built_package_and_the_download_is_audited(
    client: Any, officer: Any, approver: Any
) -> None:
    order = make_order(S.PACKAGE_READY, officer=officer, approver=approver)
    sign_in_staff(client, approver)
    page = text(client.get(reverse("officer:order", args=[order.reference])))
    assert 'id="package-preview"' in page
    response = client.get(reverse("officer:package", args=[order.reference]), {"inline": "1"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert response.content.startswith(b"%PDF-")
    assert AuditEvent.objects.filter(action="package.downloaded").count() == 1


def test_an_order_without_a_package_says_so_instead_of_failing(client: Any, officer: Any) -> None:
    order = make_order(S.SCOPING, officer=officer)
    sign_in_staff(client, officer)
    response = client.get(reverse("officer:package", args=[order.reference]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert "no package yet" in text(response)
