"""Sealing at release and verifying a package anyone holds (issue 4, §3–4)."""

import hashlib
import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from workflow.keys import SigningMaterialError, SigningPaths, ensure_demo_signing_material
from workflow.models import AuditEvent, DisclosureOrder, DisclosureState, Package
from workflow.package import sign
from workflow.package.seal import download_package
from workflow.package.sign import seal_pdf
from workflow.package.verify import Check, read_attachments, verify_package_bytes
from workflow.vault import read_sealed

pytestmark = pytest.mark.django_db(transaction=False)


def flip_byte(pdf: bytes, at: int) -> bytes:
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]


def pdfsig(path: Path, *args: str) -> str:
    done = subprocess.run(["pdfsig", *args, str(path)], capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def test_release_seals_the_package_and_the_verifier_accepts_it(released_pdf: bytes, built_order: Any) -> None:
    result = verify_package_bytes(released_pdf)
    assert result.ok, result.reason
    assert result.package_id == Package.objects.get(order=built_order).package_id
    assert result.order_reference == built_order.reference
    assert "DEMO Disclosure Signing" in result.signer
    assert result.passed == [
        Check.SIGNATURE_INTACT,
        Check.SIGNER_TRUSTED,
        Check.ATTACHMENTS_MATCH,
        Check.RECORDED,
    ]


def test_the_release_event_records_the_sealed_package(released_pdf: bytes, built_order: Any) -> None:
    event = AuditEvent.objects.filter(action="order.released").get()
    assert event.data["signed_sha256"] == hashlib.sha256(released_pdf).hexdigest()


def test_poppler_pdfsig_finds_the_signature_valid_and_covering_the_whole_file(
    released_pdf: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "package.pdf"
    path.write_bytes(released_pdf)
    report = pdfsig(path, "-nocert")
    assert "Signature is Valid" in report
    assert "Total document signed" in report


def test_one_flipped_byte_fails_verification_with_pyhanko_and_pdfsig(
    released_pdf: bytes, tmp_path: Path
) -> None:
    # A byte in the first page's content, well inside the signed range.
    tampered = flip_byte(released_pdf, len(released_pdf) // 3)
    result = verify_package_bytes(tampered)
    assert not result.ok
    assert result.failed_check in (Check.SIGNATURE_INTACT, Check.READABLE)
    path = tmp_path / "tampered.pdf"
    path.write_bytes(tampered)
    assert "Signature is Valid" not in pdfsig(path, "-nocert")


def test_the_attachments_extract_and_match_the_manifest(released_pdf: bytes) -> None:
    attachments = read_attachments(released_pdf)
    manifest = json.loads(attachments.pop("manifest.json"))
    assert sorted(attachments) == sorted(entry["name"] for entry in manifest["files"])
    for entry in manifest["files"]:
        content = attachments[entry["name"]]
        assert hashlib.sha256(content).hexdigest() == entry["sha256"]
        if entry["format"] == "jsonl":
            assert len(content.decode().splitlines()) == entry["rows"] == 3


def _resigned_with_swapped_attachment(built_order: Any) -> bytes:
    package = Package.objects.get(order=built_order)
    unsigned = read_sealed(default_storage, package.file)
    with pikepdf.open(io.BytesIO(unsigned)) as document:
        name = next(n for n in document.attachments if n.endswith(".jsonl"))
        document.attachments[name] = pikepdf.AttachedFileSpec(document, b'{"swapped": true}\n', filename=name)
        out = io.BytesIO()
        document.save(out)
    return seal_pdf(out.getvalue(), reason="test")


def test_a_swapped_attachment_is_named_even_under_a_valid_signature(built_order: Any) -> None:
    result = verify_package_bytes(_resigned_with_swapped_attachment(built_order))
    assert result.failed_check == Check.ATTACHMENTS_MATCH
    assert ".jsonl does not match its SHA-256" in result.reason


def test_a_package_id_unknown_here_is_refused(released_pdf: bytes, built_order: Any) -> None:
    Package.objects.filter(order=built_order).update(package_id="PKG-0000-0000-0000")
    result = verify_package_bytes(released_pdf)
    assert result.failed_check == Check.RECORDED
    assert "was issued by this portal" in result.reason


def test_a_package_signed_by_another_key_is_untrusted(built_order: Any, tmp_path: Path) -> None:
    stranger = SigningPaths(tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "ca.pem")
    ensure_demo_signing_material(stranger, store_name="Impostor")
    package = Package.objects.get(order=built_order)
    forged = seal_pdf(read_sealed(default_storage, package.file), reason="forged", paths=stranger)
    result = verify_package_bytes(forged)
    assert result.failed_check == Check.SIGNER_TRUSTED
    assert "Impostor" in result.reason


def test_verify_package_command_prints_id_signer_and_reference(
    released_pdf: bytes, built_order: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "package.pdf"
    path.write_bytes(released_pdf)
    call_command("verify_package", str(path))
    out = capsys.readouterr().out
    assert Package.objects.get(order=built_order).package_id in out
    assert built_order.reference in out
    assert "DEMO Disclosure Signing" in out


def test_verify_package_command_exits_1_naming_the_failed_check(
    released_pdf: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tampered.pdf"
    path.write_bytes(flip_byte(released_pdf, len(released_pdf) // 3))
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_package", str(path))
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "FAILED (signature_intact)" in err or "FAILED (readable)" in err


def test_every_download_is_audited(released_pdf: bytes, built_order: Any, approver: Any) -> None:
    order = DisclosureOrder.objects.get(pk=built_order.pk)
    assert order.state == DisclosureState.RELEASED
    filename, content = download_package(order, actor=approver)
    assert content == released_pdf
    event = AuditEvent.objects.filter(action="package.downloaded").get()
    assert event.data["sha256"] == hashlib.sha256(released_pdf).hexdigest()
    assert event.data["signed"] is True
    assert filename.endswith(".pdf")


def test_the_build_decrypts_the_signing_key_again_only_when_its_files_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """A worker checks the signing material once (``sign.preload``); a build checks it again
    by its bytes, so a key replaced, broken or removed since fails the build as before."""
    paths = SigningPaths(tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "ca.pem")
    ensure_demo_signing_material(paths, store_name="Memo")
    loads: list[SigningPaths] = []
    real = sign.store_signer
    monkeypatch.setattr(sign, "store_signer", lambda p=None: loads.append(p) or real(p))
    sign.check_signing_material(paths)
    sign.check_signing_material(paths)
    assert len(loads) == 1, "the same key, certificates and passphrase are not decrypted twice"
    settings.SIGNING_KEY_PASSPHRASE = "another passphrase"
    with pytest.raises(SigningMaterialError):
        sign.check_signing_material(paths)
    settings.SIGNING_KEY_PASSPHRASE = ""
    key = paths.key.read_bytes()
    paths.key.write_bytes(key.replace(b"A", b"B", 1))
    with pytest.raises(SigningMaterialError, match="not a usable PEM private key"):
        sign.check_signing_material(paths)
    with pytest.raises(SigningMaterialError, match="not a usable PEM private key"):
        sign.check_signing_material(paths)  # a failure is not remembered either way
    paths.key.unlink()
    with pytest.raises(SigningMaterialError, match="cannot be read"):
        sign.check_signing_material(paths)
    paths.key.write_bytes(key)
    sign.check_signing_material(paths)
    # Once, then for the new passphrase, the broken key twice and the missing one; the restored
    # key is the one loaded first: not again.
    assert len(loads) == 5
