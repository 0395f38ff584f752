"""Verifying a package anyone holds (DESIGN §3): the signature is intact and made by a signer
this portal trusts, every attachment matches ``manifest.json``, and the package id and the
file's hash are recorded here. Used by ``manage.py verify_package`` and the public verify page;
it reports only what the file itself holds."""

import asyncio
import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any

import pikepdf
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.utils.translation import gettext as _
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from workflow.keys import SigningMaterialError, load_certificate

MANIFEST_NAME = "manifest.json"


class PackageKind:
    """What a verified file is: a disclosure to an authority, or a customer's own access package."""

    DISCLOSURE = "disclosure"
    ACCESS = "access"


class Check:
    """The checks, in the order they run; a failure names one of these."""

    READABLE = "readable"
    SIGNATURE_INTACT = "signature_intact"
    SIGNER_TRUSTED = "signer_trusted"
    ATTACHMENTS_MATCH = "attachments_match"
    RECORDED = "recorded"


@dataclass
class Verification:
    ok: bool = False
    failed_check: str = ""
    reason: str = ""
    package_id: str = ""
    # The reference the manifest names: the order's for a disclosure package, the customer's
    # request's for an access package (``kind``).
    order_reference: str = ""
    kind: str = ""
    signer: str = ""
    signed_at: str = ""
    passed: list[str] = field(default_factory=list)

    def fail(self, check: str, reason: str) -> "Verification":
        self.ok, self.failed_check, self.reason = False, check, reason
        return self


def trust_roots() -> list[asn1_x509.Certificate]:
    ca = load_certificate(settings.SIGNING_CA_CERT_PATH)
    return [asn1_x509.Certificate.load(ca.public_bytes(serialization.Encoding.DER))]


def read_attachments(pdf: bytes) -> dict[str, bytes]:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        return {name: spec.get_file().read_bytes() for name, spec in document.attachments.items()}


def _signature(pdf: bytes, result: Verification) -> bool:
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError) as err:
        result.fail(
            Check.READABLE, _("The file is not a readable PDF (%(error)s).") % {"error": type(err).__name__}
        )
        return False
    if len(signatures) != 1:
        result.fail(
            Check.SIGNATURE_INTACT,
            _("The file carries %(count)d signatures; a released package carries exactly one.")
            % {"count": len(signatures)},
        )
        return False
    try:
        context = ValidationContext(
            trust_roots=trust_roots(), allow_fetching=False, revocation_mode="soft-fail"
        )
    except SigningMaterialError as err:
        result.fail(Check.SIGNER_TRUSTED, _("This portal's trust anchor cannot be read: %(e)s") % {"e": err})
        return False
    try:
        status = asyncio.run(async_validate_pdf_signature(signatures[0], context))
    except Exception as err:
        result.fail(
            Check.SIGNATURE_INTACT, _("The signature cannot be read (%(e)s).") % {"e": type(err).__name__}
        )
        return False
    if not (status.intact and status.valid):
        result.fail(
            Check.SIGNATURE_INTACT, _("The signature does not match the file: its content was changed.")
        )
        return False
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        result.fail(Check.SIGNATURE_INTACT, _("Content was added to the file after it was signed."))
        return False
    result.signer = status.signing_cert.subject.human_friendly
    result.signed_at = status.signer_reported_dt.isoformat() if status.signer_reported_dt else ""
    result.passed.append(Check.SIGNATURE_INTACT)
    if not status.trusted:
        result.fail(
            Check.SIGNER_TRUSTED,
            _("The signature is intact but its signer (%(signer)s) is not trusted by this portal.")
            % {"signer": result.signer},
        )
        return False
    result.passed.append(Check.SIGNER_TRUSTED)
    return True


def _attachments(pdf: bytes, result: Verification) -> dict[str, Any] | None:
    try:
        attached = read_attachments(pdf)
    except pikepdf.PdfError:
        result.fail(Check.READABLE, _("The file's attachments cannot be read."))
        return None
    if MANIFEST_NAME not in attached:
        result.fail(Check.ATTACHMENTS_MATCH, _("The file has no manifest.json attachment."))
        return None
    try:
        manifest = json.loads(attached.pop(MANIFEST_NAME))
        listed = {entry["name"]: entry for entry in manifest["files"]}
        result.package_id = str(manifest["package_id"])
        if "request_reference" in manifest:  # an access package names the customer's request
            result.kind = PackageKind.ACCESS
            result.order_reference = str(manifest["request_reference"])
        else:
            result.kind = PackageKind.DISCLOSURE
            result.order_reference = str(manifest["order_reference"])
    except (ValueError, KeyError, TypeError):
        result.fail(Check.ATTACHMENTS_MATCH, _("manifest.json is not a package manifest."))
        return None
    for name in sorted(set(listed) - set(attached)):
        result.fail(
            Check.ATTACHMENTS_MATCH,
            _("The attachment %(name)s listed in the manifest is missing.") % {"name": name},
        )
        return None
    for name in sorted(set(attached) - set(listed)):
        result.fail(
            Check.ATTACHMENTS_MATCH, _("The attachment %(name)s is not in the manifest.") % {"name": name}
        )
        return None
    for name, content in sorted(attached.items()):
        if hashlib.sha256(content).hexdigest() != listed[name]["sha256"]:
            result.fail(
                Check.ATTACHMENTS_MATCH,
                _("The attachment %(name)s does not match its SHA-256 in the manifest.") % {"name": name},
            )
            return None
    result.passed.append(Check.ATTACHMENTS_MATCH)
    return manifest


def _recorded_access(pdf: bytes, result: Verification) -> bool:
    """An access package is recorded with the customer's request (its id and the file's hash)."""
    from workflow.models import DataSubjectRequest, RequestKind

    request = DataSubjectRequest.objects.filter(kind=RequestKind.ACCESS, package_id=result.package_id).first()
    if request is None:
        result.fail(
            Check.RECORDED, _("No package %(id)s was issued by this portal.") % {"id": result.package_id}
        )
        return False
    if request.reference != result.order_reference:
        result.fail(Check.RECORDED, _("The package id is recorded for another request."))
        return False
    if request.package_sha256 != hashlib.sha256(pdf).hexdigest():
        result.fail(Check.RECORDED, _("This file is not the package that was issued under this id."))
        return False
    result.passed.append(Check.RECORDED)
    return True


def _recorded(pdf: bytes, result: Verification) -> bool:
    from workflow.models import Package  # the checks above need no database

    if result.kind == PackageKind.ACCESS:
        return _recorded_access(pdf, result)

    package = Package.objects.select_related("order").filter(package_id=result.package_id).first()
    if package is None:
        result.fail(
            Check.RECORDED, _("No package %(id)s was issued by this portal.") % {"id": result.package_id}
        )
        return False
    if package.order.reference != result.order_reference:
        result.fail(Check.RECORDED, _("The package id is recorded for another order."))
        return False
    if package.signed_sha256 != hashlib.sha256(pdf).hexdigest():
        result.fail(Check.RECORDED, _("This file is not the package that was released under this id."))
        return False
    result.passed.append(Check.RECORDED)
    return True


def verify_package_bytes(pdf: bytes) -> Verification:
    """Run every check in order and stop at the first that fails."""
    result = Verification()
    if not pdf.startswith(b"%PDF-"):
        return result.fail(Check.READABLE, _("The file is not a PDF."))
    if not _signature(pdf, result):
        return result
    if _attachments(pdf, result) is None:
        return result
    if not _recorded(pdf, result):
        return result
    result.ok = True
    return result
