"""The public verify page: anyone holding a package can check it (issue 4, §4)."""

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from workflow.models import Package

pytestmark = pytest.mark.django_db


def upload(client: Client, content: bytes, name: str = "package.pdf") -> Any:
    return client.post(
        reverse("public:verify_package"), {"package": SimpleUploadedFile(name, content, "application/pdf")}
    )


def test_the_verify_page_opens_without_signing_in(client: Client) -> None:
    response = client.get(reverse("public:verify_package"))
    assert response.status_code == 200
    assert b'type="file"' in response.content


def test_an_authentic_package_is_confirmed_with_its_id_reference_and_signer(
    client: Client, released_pdf: bytes, built_order: Any
) -> None:
    response = upload(client, released_pdf)
    assert response.status_code == 200
    page = response.content.decode()
    assert Package.objects.get(order=built_order).package_id in page
    assert built_order.reference in page
    assert "DEMO Disclosure Signing" in page


def test_a_tampered_package_is_refused_naming_the_failed_check(client: Client, released_pdf: bytes) -> None:
    middle = len(released_pdf) // 3
    tampered = released_pdf[:middle] + bytes([released_pdf[middle] ^ 1]) + released_pdf[middle + 1 :]
    response = upload(client, tampered)
    assert response.status_code == 422
    page = response.content.decode()
    assert "signature_intact" in page or "readable" in page
    assert 'id="verify-result"' in page


def test_a_file_that_is_not_a_pdf_is_refused_with_a_clear_error(client: Client) -> None:
    response = upload(client, b"GIF89a not a package", name="cat.gif")
    assert response.status_code == 422
    assert "This is not a PDF file." in response.content.decode()


def test_the_answer_reveals_nothing_of_the_data_in_the_package(
    client: Client, released_pdf: bytes, built_order: Any
) -> None:
    page = upload(client, released_pdf).content.decode()
    assert "zahra" not in page  # the rows of the test extraction
    assert built_order.authority.name_en not in page
