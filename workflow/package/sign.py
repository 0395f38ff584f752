"""Sealing a package at release: a PAdES signature with the store's key (DESIGN §3)."""

import io

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from workflow.keys import SigningMaterialError, SigningPaths, load_certificate, load_private_key

SIGNATURE_FIELD = "StoreSeal"


def store_signer(paths: SigningPaths | None = None) -> signers.SimpleSigner:
    """The store's signer from the configured key and certificates; SigningMaterialError names
    what cannot be read (never the key itself)."""
    paths = paths or SigningPaths.from_settings()
    key = load_private_key(paths)
    cert = load_certificate(paths.cert)
    ca = load_certificate(paths.ca_cert)
    key_der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(ca.public_bytes(serialization.Encoding.DER))]
        ),
    )


def check_signing_material(paths: SigningPaths | None = None) -> None:
    """Raise SigningMaterialError now, while building, rather than at release."""
    store_signer(paths)


def seal_pdf(pdf: bytes, *, reason: str, location: str = "", paths: SigningPaths | None = None) -> bytes:
    """The PDF with a PAdES-B-B signature over the whole file, as an incremental update (so
    the PDF/A-3b document inside stays byte-for-byte what was built)."""
    signer = store_signer(paths)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location or None,
    )
    try:
        out = signers.sign_pdf(writer, metadata, signer=signer)
    except Exception as err:  # pyHanko raises many kinds; the release is refused with the cause
        raise SigningMaterialError(f"the package could not be signed: {type(err).__name__}: {err}") from err
    return out.getvalue()
