"""The officers' screens for customers' requests: the desk acts, nobody else sees them."""

import pytest
from django.urls import reverse

from tests.factories import sign_in_staff
from workflow.models import DataSubjectRequest, RequestState
from workflow.services import dsr as svc

pytestmark = pytest.mark.usefixtures("english")

R = RequestState


@pytest.fixture
def erasure(db, fake_store):
    return svc.file_request(customer_key="store:1", kind="erasure")


def test_an_officer_lists_opens_and_handles_an_erasure(client, officer, erasure, fake_store):
    sign_in_staff(client, officer)
    assert erasure.reference in client.get(reverse("officer_dsr:list")).content.decode()
    assert client.get(reverse("officer_dsr:detail", args=[erasure.reference])).status_code == 200
    client.post(reverse("officer_dsr:act", args=[erasure.reference, "start"]), {"version": erasure.version})
    response = client.post(reverse("officer_dsr:act", args=[erasure.reference, "erase"]))
    assert response.status_code == 302
    assert DataSubjectRequest.objects.get(pk=erasure.pk).state == R.PARTIALLY_COMPLETED
    assert fake_store.erased


def test_a_stale_page_cannot_act(client, officer, erasure):
    sign_in_staff(client, officer)
    client.post(
        reverse("officer_dsr:act", args=[erasure.reference, "start"]), {"version": erasure.version + 5}
    )
    assert DataSubjectRequest.objects.get(pk=erasure.pk).state == R.SUBMITTED


def test_an_extension_without_a_reason_is_refused_with_a_message(client, officer, erasure):
    sign_in_staff(client, officer)
    response = client.post(
        reverse("officer_dsr:act", args=[erasure.reference, "extend"]), {"reason": ""}, follow=True
    )
    assert "reason" in response.content.decode()
    assert DataSubjectRequest.objects.get(pk=erasure.pk).extended_at is None


@pytest.mark.parametrize("persona", ["auditor", "administrator", "outsider", "customer_user"])
def test_nobody_outside_the_desk_sees_customers_requests(client, request, persona, erasure):
    user = request.getfixturevalue(persona)
    if getattr(user, "role", None) in ("auditor", "administrator"):
        sign_in_staff(client, user)
    else:
        client.force_login(user)
    for url in (reverse("officer_dsr:list"), reverse("officer_dsr:detail", args=[erasure.reference])):
        assert client.get(url).status_code == 403
    assert client.post(reverse("officer_dsr:act", args=[erasure.reference, "start"])).status_code == 403
    assert DataSubjectRequest.objects.get(pk=erasure.pk).state == R.SUBMITTED


def test_actions_are_post_only(client, officer, erasure):
    sign_in_staff(client, officer)
    assert client.get(reverse("officer_dsr:act", args=[erasure.reference, "start"])).status_code == 405
