"""Sealing a package at release: a PAdES signature with the store's key (DESIGN §3)."""

import contextlib
import hashlib
import io

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
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


# Digests of signing material this process has loaded into a signer: the same bytes with the
# same passphrase load the same way again, so they need not be decrypted again (~0.2 s of CPU).
_usable: set[str] = set()


def _material_digest(paths: SigningPaths) -> str | None:
    """A digest of the key, the certificates and the passphrase as they are now; None when a
    file cannot be read (``store_signer`` then says which)."""
    digest = hashlib.sha256(settings.SIGNING_KEY_PASSPHRASE.encode())
    try:
        for path in (paths.key, paths.cert, paths.ca_cert):
            data = path.read_bytes()
            digest.update(len(data).to_bytes(8, "big") + data)
    except OSError:
        return None
    return digest.hexdigest()


def check_signing_material(paths: SigningPaths | None = None) -> None:
    """Raise SigningMaterialError now, while building, rather than at release. The files are
    read every time; they are decrypted and loaded only when this process has not yet loaded
    exactly these bytes with this passphrase into a signer (a changed, replaced or removed key
    is checked again, and a failure is never remembered)."""
    paths = paths or SigningPaths.from_settings()
    digest = _material_digest(paths)
    if digest is not None and digest in _usable:
        return
    store_signer(paths)
    if digest is not None:
        _usable.add(digest)


def preload() -> None:
    """Check the configured signing material once when a worker process starts, so that its
    builds need not decrypt the key again; a problem is left for the build to report."""
    with contextlib.suppress(SigningMaterialError):
        check_signing_material()


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
