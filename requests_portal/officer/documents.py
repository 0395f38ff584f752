"""The scanned order: a PDF, size-limited, checked by its bytes, with active content removed.

A scanned court order needs pages and nothing else. JavaScript, launch actions, embedded files
and open/page actions are removed with pikepdf; what cannot be opened or cleaned is refused,
and the officer is told why. The SHA-256 recorded is that of the file as stored.
"""

import hashlib
import io
import unicodedata
from dataclasses import dataclass, field

import pikepdf
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from workflow.errors import InvalidInput
from workflow.identity import BIDI_CONTROLS

PDF_MAGIC = b"%PDF-"
# Actions that run code, open other programs or send data out.
ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/RichMediaExecute", "/Rendition"}
ACTIVE_KEYS = ("/JS", "/JavaScript", "/EmbeddedFile", "/EmbeddedFiles", "/RichMedia", "/XFA", "/Launch")


@dataclass
class CleanDocument:
    name: str
    content: bytes
    sha256: str
    removed: list[str] = field(default_factory=list)


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message, field_errors={"document": [message]})


def check_name(name: str) -> str:
    """A plain ``something.pdf``: direction overrides can disguise ``exe.pdf`` as ``fdp.exe``."""
    if BIDI_CONTROLS.search(name) or any(unicodedata.category(ch) == "Cc" for ch in name):
        raise _refuse(_("The file name contains invisible direction-control characters; rename the file."))
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base.lower().endswith(".pdf"):
        raise _refuse(_("Only PDF files are accepted (the name must end in .pdf)."))
    return base


def clean_pdf(upload: UploadedFile) -> CleanDocument:
    """Check and sanitise an uploaded order document; raise InvalidInput saying why it is refused."""
    name = check_name(upload.name or "")
    limit = settings.ORDER_DOCUMENT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise _refuse(_("The file is larger than %(mb)s MB.") % {"mb": f"{limit / 1024 / 1024:g}"})
    raw = upload.read(limit + 1)
    if len(raw) > limit:
        raise _refuse(_("The file is larger than %(mb)s MB.") % {"mb": f"{limit / 1024 / 1024:g}"})
    if not raw.startswith(PDF_MAGIC):
        raise _refuse(_("This file is not a PDF, whatever its name says."))
    try:
        pdf = pikepdf.open(io.BytesIO(raw))
    except pikepdf.PasswordError as err:
        raise _refuse(_("The PDF is password-protected; upload an unprotected scan.")) from err
    except pikepdf.PdfError as err:
        raise _refuse(_("The PDF is damaged and cannot be read.")) from err
    with pdf:
        removed = _strip_active_content(pdf)
        out = io.BytesIO()
        # Writing keeps only what is still reachable, so the removed objects are gone for good.
        pdf.save(out)
    content = out.getvalue()
    with pikepdf.open(io.BytesIO(content)) as saved:
        if _active_content(saved):
            raise _refuse(
                _("The PDF contains active content that could not be removed; upload a plain scan.")
            )
    return CleanDocument(
        name=name, content=content, sha256=hashlib.sha256(content).hexdigest(), removed=removed
    )


def _strip_active_content(pdf: pikepdf.Pdf) -> list[str]:
    removed: list[str] = []
    root = pdf.Root
    for key, what in (
        ("/OpenAction", _("an action run on opening")),
        ("/AA", _("automatic actions")),
        ("/AF", _("embedded files")),  # PDF 2.0 "associated files"
    ):
        if key in root:
            del root[key]
            removed.append(what)
    if "/Names" in root:
        names = root.Names
        for key, what in (("/JavaScript", _("scripts")), ("/EmbeddedFiles", _("embedded files"))):
            if key in names:
                del names[key]
                removed.append(what)
    if "/AcroForm" in root and "/XFA" in root.AcroForm:
        del root.AcroForm["/XFA"]
        removed.append(_("an XFA form"))
    for page in pdf.pages:
        if "/AA" in page.obj:
            del page.obj["/AA"]
            removed.append(_("automatic page actions"))
        if "/AF" in page.obj:
            del page.obj["/AF"]
            removed.append(_("embedded files"))
        if "/Annots" not in page.obj:
            continue
        kept = pikepdf.Array()
        for annot in page.obj.Annots:
            subtype = annot.get("/Subtype")
            action = annot.get("/A")
            kind = action.get("/S") if isinstance(action, pikepdf.Dictionary) else None
            if subtype in ("/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/Sound"):
                removed.append(_("attached files or media"))
            elif kind is not None and str(kind) in ACTIVE_ACTIONS:
                removed.append(_("links that run actions"))
            else:
                if "/AA" in annot:
                    del annot["/AA"]
                kept.append(annot)
        page.obj.Annots = kept
    return sorted(set(removed))


def _active_content(pdf: pikepdf.Pdf) -> bool:
    """Whether any object still carries a script, launch action or embedded file."""
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Dictionary):
            continue
        if any(key in obj for key in ACTIVE_KEYS):
            return True
        kind = obj.get("/S")
        if kind is not None and str(kind) in ACTIVE_ACTIONS:
            return True
        if obj.get("/Type") == "/Filespec" and "/EF" in obj:
            return True
    return False
