"""Packages for tests that need an order past export without rendering one: a one-page PDF
stored and recorded exactly as the pipeline stores a real package."""

import hashlib
import io

import pikepdf
from django.core.files.storage import default_storage
from django.utils import timezone

from workflow.keys import ensure_demo_signing_material
from workflow.models import DisclosureOrder, Package, PackageStage, PackageState
from workflow.package.build import package_dir
from workflow.services import disclosure as svc
from workflow.vault import write_sealed


def minimal_pdf() -> bytes:
    document = pikepdf.new()
    document.add_blank_page(page_size=(595, 842))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def complete_export(order: DisclosureOrder) -> DisclosureOrder:
    """Move an exporting order to package_ready with a stored (unrendered) package."""
    ensure_demo_signing_material()
    pdf = minimal_pdf()
    package = Package.objects.create(order=order, scope_revision=order.scope_revision)
    package.file = write_sealed(default_storage, f"{package_dir(package)}/test.pdf", pdf)
    package.sha256, package.size = hashlib.sha256(pdf).hexdigest(), len(pdf)
    package.state, package.stage, package.percent = PackageState.READY, PackageStage.DONE, 100
    package.finished_at = timezone.now()
    package.save()
    return svc.mark_export_succeeded(order, package_id=package.package_id, package_sha256=package.sha256)
