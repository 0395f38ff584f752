"""The access request's package (DESIGN §1): the customer's own data, through the same extraction
and rendering pipeline as a disclosure package, addressed to the customer.

The pipeline's entry point (issue 4) takes a disclosure order; this module adapts an access
request to it: one scope line for the customer, every category except credentials, all dates.
"""

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from workflow.models import DataSubjectRequest, RequestKind, RequestState

from .dsr import record_access_package


def render_access_package(dsr: DataSubjectRequest) -> tuple[str, bytes]:
    """(package id, PDF bytes) for the customer's data. Rendering is the package pipeline's."""
    from workflow.package.access import render_for_customer

    return render_for_customer(customer_key=dsr.customer_key, language=dsr.language, reference=dsr.reference)


def build_access_package(dsr_id: int) -> str:
    """Build once: a request already carrying its package is left as it is (redelivered jobs)."""
    dsr = DataSubjectRequest.objects.get(pk=dsr_id)
    if dsr.kind != RequestKind.ACCESS or dsr.state != RequestState.IN_PROGRESS or dsr.package_file:
        return dsr.package_id
    package_id, pdf = render_access_package(dsr)
    digest = hashlib.sha256(pdf).hexdigest()
    name = default_storage.save(f"access/{dsr.reference}/{package_id}.pdf", ContentFile(pdf))
    with transaction.atomic():
        DataSubjectRequest.objects.filter(pk=dsr.pk, package_file="").update(
            package_file=name, package_sha256=digest
        )
        record_access_package(dsr, package_id=package_id, package_sha256=digest)
    return package_id
