"""The store's signing key and certificate (for packages and audit checkpoints).

Production configures SIGNING_KEY_PATH / SIGNING_CERT_PATH / SIGNING_CA_CERT_PATH. The demo has
none, so ``ensure_demo_signing_material`` makes a demo CA and a signing certificate issued by
it (``manage.py setup_signing``, run by ``make demo``); they say DEMO in their names.
"""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings


class SigningMaterialError(Exception):
    """The configured key or certificate cannot be read (a clear reason, never the key)."""


@dataclass(frozen=True)
class SigningPaths:
    key: Path
    cert: Path
    ca_cert: Path

    @classmethod
    def from_settings(cls) -> "SigningPaths":
        return cls(settings.SIGNING_KEY_PATH, settings.SIGNING_CERT_PATH, settings.SIGNING_CA_CERT_PATH)


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "IR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_private(path: Path, key: rsa.RSAPrivateKey, passphrase: str) -> None:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    path.chmod(0o600)


def ensure_demo_signing_material(paths: SigningPaths | None = None, *, store_name: str | None = None) -> bool:
    """Create a demo CA and signing certificate where none exists. Returns True if it made them."""
    paths = paths or SigningPaths.from_settings()
    if paths.key.exists() and paths.cert.exists():
        return False
    store = store_name or settings.STORE_NAME
    paths.key.parent.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    ca_name = _name(f"{store} DEMO Root CA", store)
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    signer_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    signer_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{store} DEMO Disclosure Signing", store))
        .issuer_name(ca_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True
        )  # digitalSignature, nonRepudiation
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CODE_SIGNING, x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")]
            ),
            critical=False,
        )  # document signing
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(paths.key, signer_key, settings.SIGNING_KEY_PASSPHRASE)
    paths.cert.write_bytes(signer_cert.public_bytes(serialization.Encoding.PEM))
    paths.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    # The CA's key is not kept: the demo never issues another certificate.
    return True


def load_private_key(paths: SigningPaths | None = None) -> PrivateKeyTypes:
    paths = paths or SigningPaths.from_settings()
    try:
        data = paths.key.read_bytes()
    except OSError as err:
        raise SigningMaterialError(f"the signing key at {paths.key} cannot be read ({err.strerror})") from err
    try:
        return serialization.load_pem_private_key(
            data, password=settings.SIGNING_KEY_PASSPHRASE.encode() or None
        )
    except (ValueError, TypeError) as err:
        raise SigningMaterialError(f"the signing key at {paths.key} is not a usable PEM private key") from err


def load_certificate(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except OSError as err:
        raise SigningMaterialError(f"the certificate at {path} cannot be read ({err.strerror})") from err
    except ValueError as err:
        raise SigningMaterialError(f"the file at {path} is not a PEM certificate") from err
