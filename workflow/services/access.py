"""The access request's package (DESIGN §1): the customer's own data, through the same extraction
(issue 3) and rendering/sealing pipeline (issue 4) as a disclosure package, addressed to them.

The package pipeline's build is tied to a DisclosureOrder (its Package row, its claim), so this
module adapts an access request to the pipeline's pure parts: ``extract_scope`` for one scope
line (the customer, every category but credentials and third-party recipients, all dates),
``PackageDocument`` → ``render_package`` → ``seal_pdf``. The file is stored encrypted at rest
(the default storage) and the request records its id and SHA-256.
"""

import datetime as dt
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from workflow.audit import stream_for
from workflow.choices import NEEDS_JUSTIFICATION, NEVER_DISCLOSED, DataCategory
from workflow.models import AuditEvent, DataSubjectRequest, RequestKind, RequestState

from .dsr import record_access_package

# The customer's own data: everything the store holds of them, except their password hash and
# the people they shipped to (data of others, DESIGN §2), which an access request never carries.
ACCESS_CATEGORIES = [c for c in DataCategory.values if c not in NEVER_DISCLOSED | NEEDS_JUSTIFICATION]
EARLIEST = dt.date(1970, 1, 1)
ADDRESSEE = {"fa": "شما، دارندهٔ این حساب", "en": "You, the holder of this account"}
INSTRUMENT = {"fa": "درخواست دسترسی مشتری", "en": "Customer's access request"}


def render_for_customer(dsr: DataSubjectRequest, out_dir: Path) -> tuple[str, bytes]:
    """(package id, signed PDF) of the customer's data."""
    from workflow.extraction import ScopeRequest, extract_scope
    from workflow.models.package import new_package_id
    from workflow.package.content import manifest_entries, printed_tables
    from workflow.package.document import AttachedFile, CustodyEvent, PackageDocument, ScopeLine
    from workflow.package.render import render_package
    from workflow.package.sign import seal_pdf
    from workflow.package.verify import MANIFEST_NAME
    from workflow.package.wording import ACCESS

    language = dsr.language if dsr.language in ("fa", "en") else "fa"
    today = timezone.localdate()
    package_id = new_package_id()
    manifest: Any = extract_scope(
        [ScopeRequest(dsr.customer_key, ACCESS_CATEGORIES, EARLIEST, today)], out_dir=out_dir / "data"
    )
    entries = manifest_entries(manifest)
    manifest_path = out_dir / "data" / MANIFEST_NAME
    manifest_path.write_text(
        json.dumps(
            {
                "package_id": package_id,
                "request_reference": dsr.reference,
                "generated_at": timezone.now().astimezone(dt.UTC).isoformat(),
                "files": [
                    {
                        "name": e.name,
                        "customer_key": e.customer_key,
                        "category": e.category,
                        "format": e.fmt,
                        "rows": e.rows,
                        "sha256": e.sha256,
                        "size": e.size,
                    }
                    for e in entries
                ],
            },
            ensure_ascii=False,
            indent=2,
            sort_keys=True,
        ),
        encoding="utf-8",
    )
    produced: dict[str, int] = {}
    for f in manifest.files:
        if f.fmt == "jsonl":
            produced[f.category] = f.rows
    submitted = timezone.localdate(dsr.submitted_at)
    document = PackageDocument(
        language=language,
        package_id=package_id,
        store_name=settings.STORE_NAME_FA if language == "fa" else settings.STORE_NAME,
        authority_name=ADDRESSEE[language],
        instrument=INSTRUMENT[language],
        authority_reference=dsr.reference,
        order_reference=dsr.reference,
        issued_on=submitted,
        received_on=submitted,
        generated_at=timezone.now(),
        requested_from=EARLIEST,
        requested_to=today,
        scope=[
            ScopeLine(
                customer_key=dsr.customer_key,
                requested=ACCESS_CATEGORIES,
                produced=[(c, produced[c]) for c in ACCESS_CATEGORIES if c in produced],
                date_from=EARLIEST,
                date_to=today,
                exclusions=[
                    (DataCategory.CREDENTIAL, "credentials"),
                    (DataCategory.THIRD_PARTY_RECIPIENT, "third_party"),
                ],
            )
        ],
        manifest=entries,
        custody=[
            CustodyEvent(e.seq, e.occurred_at, e.action, e.actor, e.hash)
            for e in AuditEvent.objects.filter(stream=stream_for(dsr)).order_by("seq")
        ],
        attachments=[
            *[AttachedFile(e.name, out_dir / "data" / e.name, f"{e.category} ({e.fmt})") for e in entries],
            AttachedFile(MANIFEST_NAME, manifest_path, "manifest"),
        ],
        tables=printed_tables(manifest, out_dir / "data", settings.PACKAGE_PRINTED_ROWS),
        variant=ACCESS,
        verify_url=urljoin(settings.CUSTOMER_PORTAL_URL, reverse("public:verify_package")),
    )
    pdf = render_package(document)
    signed = seal_pdf(pdf, reason=f"Access request {dsr.reference} of customer {dsr.customer_key}")
    return package_id, signed


def build_access_package(dsr_id: int) -> str:
    """Build once: a request already carrying its package is left as it is (redelivered jobs)."""
    dsr = DataSubjectRequest.objects.get(pk=dsr_id)
    if dsr.kind != RequestKind.ACCESS or dsr.state != RequestState.IN_PROGRESS or dsr.package_file:
        return dsr.package_id
    tmp_root = Path(settings.VAR_DIR) / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tmp_root, prefix="access-") as work:
        package_id, pdf = render_for_customer(dsr, Path(work))
    digest = hashlib.sha256(pdf).hexdigest()
    name = default_storage.save(f"access/{dsr.reference}/{package_id}.pdf", ContentFile(pdf))
    with transaction.atomic():
        claimed = DataSubjectRequest.objects.filter(pk=dsr.pk, package_file="").update(
            package_file=name, package_sha256=digest
        )
        if not claimed:  # another delivery of the job finished first: keep its file, drop ours
            transaction.on_commit(lambda: default_storage.delete(name))
            return DataSubjectRequest.objects.get(pk=dsr.pk).package_id
        record_access_package(dsr, package_id=package_id, package_sha256=digest)
    return package_id
