from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _


class VerifyPackageForm(forms.Form):
    package = forms.FileField(
        label=_("Package file (PDF)"),
        help_text=_("The file is checked and discarded; nothing of it is kept."),
    )

    def clean_package(self) -> bytes:
        upload: UploadedFile = self.cleaned_data["package"]
        limit = settings.PACKAGE_VERIFY_MAX_BYTES
        if upload.size is not None and upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s; a package is never that large.")
                % {"limit": filesizeformat(limit)}
            )
        content = upload.read()
        if not content.startswith(b"%PDF-"):
            raise forms.ValidationError(_("This is not a PDF file."))
        return content
