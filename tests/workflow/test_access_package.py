"""The customer's access package: a letter to the customer (not a disclosure), in their language,
which anyone holding the file can verify (DESIGN §1, §3)."""

import re
import subprocess
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from tests.workflow.store_helpers import seed
from workflow import customer_store
from workflow.calendar import jalali
from workflow.keys import ensure_demo_signing_material
from workflow.models import DataSubjectRequest
from workflow.package.verify import Check, PackageKind, verify_package_bytes
from workflow.services import dsr as svc
from workflow.services.access import build_access_package

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def store(tmp_path, settings):
    seeded = seed(tmp_path, customers=12)
    settings.STORE_DATAMAPS = [str(seeded.datamap_path)]
    ensure_demo_signing_material()
    return seeded


def access_package(language: str) -> tuple[DataSubjectRequest, bytes]:
    key = customer_store.find_customer("email", "maryam.rezaei@example.ir")
    request = svc.file_request(customer_key=key, kind="access", language=language)
    build_access_package(request.pk)
    request = DataSubjectRequest.objects.get(pk=request.pk)
    with default_storage.open(request.package_file, "rb") as stored:
        return request, stored.read()


def cover_letter(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "access.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def plain(text: str) -> str:
    """Text without the joiners and direction marks that pdftotext keeps or drops unevenly."""
    return re.sub("[\u200c\u202a-\u202e\u2066-\u2069]", "", " ".join(text.split()))


def flip_byte(pdf: bytes, at: int) -> bytes:
    return pdf[:at] + bytes([pdf[at] ^ 1]) + pdf[at + 1 :]


def test_the_english_access_package_is_a_letter_to_the_customer(db, store, tmp_path):
    request, pdf = access_package("en")
    text = " ".join(cover_letter(pdf, tmp_path).split())
    assert "Your data, as held by" in text
    assert request.reference in text
    assert "You asked us for a copy of the personal data we hold about you" in text
    assert "Your password" in text  # what is excluded, and why
    assert "other people's data" in text
    assert "How to verify this file" in text
    assert "/verify/" in text
    for disclosure_word in ("disclos", "authority", "Instrument", "order cited", "Your reference"):
        assert disclosure_word not in text


def test_the_persian_access_package_speaks_to_the_customer_with_jalali_dates(db, store, tmp_path):
    request, pdf = access_package("fa")
    text = plain(cover_letter(pdf, tmp_path))
    for phrase in (
        "داده‌های شما نزد",
        "نامه به شما",
        "راستی‌آزمایی این فایل",
        "گذرواژه",
        "آنچه این فایل در بر دارد",
    ):
        assert plain(phrase) in text
    assert request.reference in text
    assert jalali(timezone.localdate(request.submitted_at)) in text  # "۱۴۰۵/۰۹/۰۱"
    for disclosure_word in ("افشا", "دستور", "مرجع", "authority"):
        assert disclosure_word not in text


def test_a_customers_access_package_verifies_with_the_command(db, store, tmp_path, capsys):
    request, pdf = access_package("fa")
    assert request.package_id and request.package_sha256  # recorded with the request
    path = tmp_path / "access.pdf"
    path.write_bytes(pdf)
    call_command("verify_package", str(path))  # returns: exit status 0
    out = capsys.readouterr().out
    assert f"OK access package {request.package_id} for request {request.reference}" in out
    result = verify_package_bytes(pdf)
    assert result.ok
    assert result.kind == PackageKind.ACCESS
    assert result.passed[-1] == Check.RECORDED


def test_one_flipped_byte_in_an_access_package_fails_verification(db, store, tmp_path, capsys):
    _request, pdf = access_package("en")
    path = tmp_path / "tampered.pdf"
    path.write_bytes(flip_byte(pdf, len(pdf) // 3))
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_package", str(path))
    assert exit_info.value.code == 1
    assert "FAILED" in capsys.readouterr().err


def test_an_access_package_of_another_request_id_is_not_confirmed(db, store):
    request, pdf = access_package("en")
    DataSubjectRequest.objects.filter(pk=request.pk).update(package_sha256="0" * 64)
    result = verify_package_bytes(pdf)
    assert not result.ok
    assert result.failed_check == Check.RECORDED


def test_the_verify_page_says_the_file_is_an_access_package_and_reveals_nothing_more(db, store, client):
    request, pdf = access_package("en")
    response = client.post(
        reverse("public:verify_package"), {"package": SimpleUploadedFile("mine.pdf", pdf, "application/pdf")}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "access package" in page
    assert request.reference in page
    assert request.package_id in page
    for personal in ("maryam", "Maryam", "مریم", "09121234567", "+989121234567"):
        assert personal not in page
    tampered = client.post(
        reverse("public:verify_package"),
        {"package": SimpleUploadedFile("mine.pdf", flip_byte(pdf, len(pdf) // 3), "application/pdf")},
    )
    assert tampered.status_code == 422
