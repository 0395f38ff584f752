"""Signing audit statements with the store's key, and checking them with its CA alone.

Pure apart from ``sign_statement`` (which reads the configured key): ``verify_statement``
needs only the statement, the signer's certificate and the CA certificate, which is what an
outside auditor holds.
"""

import base64
import datetime as dt

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from workflow.keys import SigningPaths, load_certificate, load_private_key


class SignatureRefused(ValueError):
    """A signature or certificate does not check out (the reason says which)."""


def sign_statement(statement: bytes, paths: SigningPaths | None = None) -> tuple[str, str]:
    """Sign with the store's key: returns (base64 signature, the signer's certificate as PEM)."""
    paths = paths or SigningPaths.from_settings()
    key = load_private_key(paths)
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(statement, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(statement, ec.ECDSA(hashes.SHA256()))
    else:
        raise SignatureRefused(f"a {type(key).__name__} cannot sign audit statements")
    return base64.b64encode(signature).decode(), signer_certificate_pem(paths)


def signer_certificate_pem(paths: SigningPaths | None = None) -> str:
    paths = paths or SigningPaths.from_settings()
    return load_certificate(paths.cert).public_bytes(serialization.Encoding.PEM).decode()


def _check_signature(public_key: CertificatePublicKeyTypes, signature: bytes, data: bytes) -> None:
    if isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    else:
        raise SignatureRefused(f"unsupported signer key {type(public_key).__name__}")


def check_certificate(cert_pem: str, ca: x509.Certificate, *, at: dt.datetime) -> x509.Certificate:
    """The signer's certificate must be issued by the store's CA and valid at ``at``."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as err:
        raise SignatureRefused("the signer's certificate was not issued by the store's CA") from err
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise SignatureRefused(f"the signer's certificate was not valid at {at.isoformat()}")
    return cert


def verify_statement(
    statement: bytes, signature_b64: str, cert_pem: str, ca: x509.Certificate, *, at: dt.datetime
) -> None:
    cert = check_certificate(cert_pem, ca, at=at)
    try:
        _check_signature(cert.public_key(), base64.b64decode(signature_b64, validate=True), statement)
    except (InvalidSignature, ValueError) as err:
        raise SignatureRefused("the signature does not match the signed text") from err
