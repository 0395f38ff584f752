from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from workflow.choices import DataCategory
from workflow.models import RequestKind
from workflow.package.wording import category_label


class IdentifierForm(forms.Form):
    identifier = forms.CharField(
        label=_("E-mail address or mobile number registered with the store"),
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "username", "dir": "ltr"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("The code we sent you"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "class": "form-control",
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "dir": "ltr",
            }
        ),
    )


# How the store's columns read to a customer; a column not listed shows its own name.
FIELD_LABELS = {
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "birth_date": _("Date of birth"),
    "email": _("E-mail address"),
    "mobile": _("Mobile number"),
    "landline": _("Landline number"),
    "province": _("Province"),
    "city": _("City"),
    "street": _("Street address"),
    "postal_code": _("Postal code"),
    "phone": _("Phone at this address"),
}


def field_label(qualified: str) -> str:
    table, _dot, column = qualified.rpartition(".")
    label = str(FIELD_LABELS.get(column, column))
    return f"{label} ({_('address')})" if table == "addresses" else label


# Credentials are erased by closing the account at the store, not item by item here.
ERASABLE = [(value, label) for value, label in DataCategory.choices if value != DataCategory.CREDENTIAL]


class RequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What are you asking for?"), choices=RequestKind.choices, widget=forms.RadioSelect
    )
    categories = forms.MultipleChoiceField(
        label=_("For an erasure: the data to erase (leave empty for all)"),
        choices=ERASABLE,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label=_("Anything we should know (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}),
    )

    def __init__(self, *args: Any, fields: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = (get_language() or "fa")[:2]
        self.fields["categories"].choices = [
            (value, category_label(value, language)) for value, _label in ERASABLE
        ]
        # One text box per field the data map lets the customer correct, showing today's value.
        self.correctable = fields or {}
        for name, current in self.correctable.items():
            self.fields[f"fix__{name}"] = forms.CharField(
                label=field_label(name),
                required=False,
                max_length=300,
                initial=current,
                widget=forms.TextInput(attrs={"class": "form-control", "dir": "auto"}),
            )

    def corrections(self) -> list[dict[str, str]]:
        return [
            {"field": name, "value": self.cleaned_data.get(f"fix__{name}", "")}
            for name in self.correctable
            if self.cleaned_data.get(f"fix__{name}", "") not in ("", self.correctable[name])
        ]
