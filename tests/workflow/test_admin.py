"""The admin manages authorities and users; orders are read-only there."""

import pytest

from tests.factories import make_order, sign_in_staff
from workflow.models import AuditEvent, Authority, DisclosureOrder


@pytest.fixture
def admin_client(client, administrator):
    administrator.is_staff = True
    administrator.save()
    sign_in_staff(client, administrator)
    return client


def test_an_administrator_adds_an_authority_and_the_change_is_audited(admin_client):
    response = admin_client.post(
        "/admin/workflow/authority/add/",
        {
            "name_fa": "شعبه ۳ دادگاه عمومی شیراز",
            "name_en": "Shiraz General Court, Branch 3",
            "kind": "court",
            "jurisdiction": "Shiraz",
            "active": "on",
            "instruments-TOTAL_FORMS": "1",
            "instruments-INITIAL_FORMS": "0",
            "instruments-0-instrument": "court_order",
            "contacts-TOTAL_FORMS": "0",
            "contacts-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    authority = Authority.objects.get(name_en="Shiraz General Court, Branch 3")
    assert authority.may_issue("court_order")
    assert AuditEvent.objects.filter(
        action="config.authority_added", object_ref=f"authority:{authority.pk}"
    ).exists()


def test_orders_cannot_be_changed_or_deleted_in_the_admin(admin_client, officer):
    order = make_order("received", officer=officer)
    assert admin_client.get("/admin/workflow/disclosureorder/add/").status_code == 403
    response = admin_client.post(f"/admin/workflow/disclosureorder/{order.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert DisclosureOrder.objects.filter(pk=order.pk).exists()


def test_a_password_alone_does_not_open_the_admin(client, administrator):
    administrator.is_staff = True
    administrator.save()
    client.force_login(administrator)
    response = client.get("/admin/workflow/authority/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_an_officer_cannot_reach_the_admin(client, officer):
    sign_in_staff(client, officer)
    response = client.get("/admin/workflow/authority/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
