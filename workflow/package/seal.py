"""Release seals the package; every download of it is audited (DESIGN §3)."""

import hashlib
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow import audit
from workflow.errors import ConditionsUnmet
from workflow.keys import SigningMaterialError
from workflow.models import DisclosureOrder, Package, PackageState
from workflow.vault import VaultError, read_sealed, write_sealed

from .build import package_dir
from .sign import seal_pdf


def current_package(order: DisclosureOrder) -> Package | None:
    """The ready package of the order's approved scope (a half-built one is never returned)."""
    return order.packages.filter(scope_revision=order.scope_revision, state=PackageState.READY).first()


def seal_on_release(order: DisclosureOrder, actor: Any) -> dict[str, Any]:
    """A release hook: runs inside release's transaction, so a package that cannot be sealed
    leaves the order package_ready and says why."""
    package = (
        Package.objects.select_for_update()
        .filter(order=order, scope_revision=order.scope_revision, state=PackageState.READY)
        .first()
    )
    if package is None:
        raise ConditionsUnmet(_("There is no ready package to release."))
    try:
        pdf = read_sealed(default_storage, package.file)
    except (OSError, VaultError) as err:
        raise ConditionsUnmet(_("The stored package cannot be read: %(e)s") % {"e": err}) from err
    if hashlib.sha256(pdf).hexdigest() != package.sha256:
        raise ConditionsUnmet(_("The stored package does not match the one that was built; build it again."))
    reason = f"Disclosure {order.reference} to {order.authority.name_en}, ref. {order.authority_reference}"
    try:
        signed = seal_pdf(pdf, reason=reason)
    except SigningMaterialError as err:
        raise ConditionsUnmet(_("The package cannot be sealed: %(e)s") % {"e": err}) from err
    # The name is fixed, so a release that rolls back leaves nothing a retry would not replace.
    package.signed_file = write_sealed(default_storage, f"{package_dir(package)}/signed.pdf", signed)
    package.signed_sha256 = hashlib.sha256(signed).hexdigest()
    package.signed_at = timezone.now()
    package.save(update_fields=["signed_file", "signed_sha256", "signed_at"])
    return {"package_id": package.package_id, "signed_sha256": package.signed_sha256}


def download_package(order: DisclosureOrder, *, actor: Any) -> tuple[str, bytes]:
    """The file an authorised user downloads: the signed package once released, else the
    built one for the approver's review. Every download is recorded in the order's trail."""
    package = order.packages.filter(state=PackageState.READY).order_by("-scope_revision").first()
    if package is None:
        raise ConditionsUnmet(_("This order has no package yet."))
    signed = bool(package.signed_file)
    name = package.signed_file if signed else package.file
    try:
        content = read_sealed(default_storage, name)
    except (OSError, VaultError) as err:
        raise ConditionsUnmet(_("The stored package cannot be read: %(e)s") % {"e": err}) from err
    with transaction.atomic():
        audit.record(
            "package.downloaded",
            actor=actor,
            obj=order,
            data={
                "package_id": package.package_id,
                "signed": signed,
                "sha256": hashlib.sha256(content).hexdigest(),
            },
        )
    filename = f"{package.package_id}{'' if signed else '-unsigned'}.pdf"
    return filename, content
