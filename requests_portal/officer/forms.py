"""Forms of the officers' desk. They parse what people type (Jalali or Gregorian dates, Persian
digits) and leave every rule of the domain to the services, whose field errors they show."""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from workflow.calendar import ascii_digits, jalali, parse_date
from workflow.choices import (
    NEVER_DISCLOSED,
    DataCategory,
    DeliveryMethod,
    IdentifierKind,
    InstrumentType,
    Language,
    NoticeRule,
    Outcome,
    RejectionCode,
)
from workflow.errors import InvalidInput
from workflow.models import Authority

DISCLOSABLE = [(value, label) for value, label in DataCategory.choices if value not in NEVER_DISCLOSED]


class PortalFormMixin:
    """Bootstrap classes on every widget, and a way to pin a service's field errors on the form."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # type: ignore[attr-defined]
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
                continue
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")

    def add_service_errors(self, field_errors: Mapping[str, Sequence[str]], fallback: str = "") -> None:
        for name, messages in field_errors.items():
            target = name if name in self.fields else None  # type: ignore[attr-defined]
            for message in messages:
                self.add_error(target, message)  # type: ignore[attr-defined]
        if not field_errors and fallback:
            self.add_error(None, fallback)  # type: ignore[attr-defined]


class DateInput(forms.TextInput):
    """A text box for a date: Jalali (1403/12/30) or Gregorian (2025-03-20), any digits."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"placeholder": "1403/12/30", "dir": "ltr", "inputmode": "numeric", **(attrs or {})})

    def format_value(self, value: Any) -> Any:
        if isinstance(value, dt.date):
            lang = get_language() or ""
            return jalali(value, digits="en") if lang.startswith("fa") else value.isoformat()
        return value


class DateField(forms.Field):
    widget = DateInput

    def to_python(self, value: Any) -> dt.date | None:
        if isinstance(value, dt.date):
            return value
        if value in self.empty_values:
            return None
        try:
            return parse_date(str(value))
        except InvalidInput as err:
            raise forms.ValidationError(err.message, code="date") from err


class DateTimeField(forms.Field):
    """A date (Jalali or Gregorian) and a time ``HH:MM``, in the portal's time zone."""

    widget = forms.TextInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.widget.attrs.update({"placeholder": "1403/12/30 14:30", "dir": "ltr"})

    def to_python(self, value: Any) -> dt.datetime | None:
        if value in self.empty_values:
            return None
        parts = ascii_digits(str(value)).split()
        try:
            day = parse_date(parts[0])
        except InvalidInput as err:
            raise forms.ValidationError(err.message, code="date") from err
        moment = dt.time(0, 0)
        if len(parts) > 1:
            try:
                moment = dt.time(*(int(x) for x in parts[1].split(":")[:3]))
            except (TypeError, ValueError) as err:
                raise forms.ValidationError(
                    _("Write the time as HH:MM, for example 14:30."), code="time"
                ) from err
        return timezone.make_aware(dt.datetime.combine(day, moment))


class ReasonForm(PortalFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class NoteForm(PortalFormMixin, forms.Form):
    note = forms.CharField(
        label=_("Note (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ClarificationForm(PortalFormMixin, forms.Form):
    question = forms.CharField(label=_("What needs clarifying"), widget=forms.Textarea(attrs={"rows": 3}))


class RejectForm(PortalFormMixin, forms.Form):
    code = forms.ChoiceField(label=_("Reason"), choices=[("", "—"), *RejectionCode.choices])
    letter = forms.CharField(label=_("Letter to the authority"), widget=forms.Textarea(attrs={"rows": 4}))


class EmergencyForm(PortalFormMixin, forms.Form):
    followup_due = DateField(label=_("The formal order must follow by"))


class FormalOrderForm(PortalFormMixin, forms.Form):
    received_on = DateField(label=_("Formal order received on"))


class DeliveryForm(PortalFormMixin, forms.Form):
    method = forms.ChoiceField(label=_("How it was delivered"), choices=[("", "—"), *DeliveryMethod.choices])
    recipient = forms.CharField(label=_("Received by"), max_length=200)
    delivered_at = DateTimeField(label=_("Delivered at"))
    proof = forms.CharField(label=_("Proof of receipt"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Usually recorded as it happens: offer "now", to the second, in the reader's calendar.
        now = timezone.localtime()
        day = jalali(now, digits="en") if (get_language() or "").startswith("fa") else now.date().isoformat()
        self.initial.setdefault("delivered_at", f"{day} {now:%H:%M:%S}")


class CloseForm(PortalFormMixin, forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", "—"), *Outcome.choices])


class CheckForm(PortalFormMixin, forms.Form):
    """One item of the verification checklist."""

    passed = forms.TypedChoiceField(
        label=_("Result"),
        choices=[("1", _("Passed")), ("0", _("Failed"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
        initial="1",
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    contact_id = forms.ChoiceField(label=_("Contact used (from the registry)"), required=False)
    spoke_with = forms.CharField(label=_("Spoke with"), required=False, max_length=200)
    called_at = forms.CharField(label=_("When"), required=False, max_length=40)

    def __init__(self, *args: Any, authority: Authority | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        contacts = list(authority.contacts.all()) if authority is not None else []
        self.fields["contact_id"].choices = [("", "—")] + [
            (str(c.pk), f"{c.get_channel_display()}: {c.value} ({c.source})") for c in contacts
        ]


class ScopeLineForm(PortalFormMixin, forms.Form):
    customer_key = forms.CharField(
        label=_("Customer (data-map key)"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": "store:1042", "dir": "ltr"}),
    )
    categories = forms.MultipleChoiceField(
        label=_("Categories"), choices=DISCLOSABLE, widget=forms.CheckboxSelectMultiple
    )
    date_from = DateField(label=_("From"))
    date_to = DateField(label=_("To"))
    evidence = forms.CharField(
        label=_("How this customer was matched"), required=False, max_length=500, widget=forms.TextInput()
    )


ScopeFormSet = forms.formset_factory(ScopeLineForm, extra=1, can_delete=True, max_num=50)


class ScopeJustificationForm(PortalFormMixin, forms.Form):
    third_party_justification = forms.CharField(
        label=_("Justification for third-party data"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200)
    state = forms.CharField(required=False, max_length=40)


class IdentifierForm(PortalFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", "—"), *IdentifierKind.choices], required=False)
    value = forms.CharField(label=_("Identifier"), required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        from workflow.identity import normalise_identifier

        data = super().clean() or {}
        kind, value = data.get("kind"), (data.get("value") or "").strip()
        if value and not kind:
            self.add_error("kind", _("Choose the kind of identifier."))
        elif kind and not value:
            self.add_error("value", _("Write the identifier or clear its kind."))
        elif kind and value:
            try:
                normalise_identifier(kind, value)
            except InvalidInput as err:
                self.add_error("value", err.message)
        return data


IdentifierFormSet = forms.formset_factory(IdentifierForm, extra=4, max_num=20)


class AuthorityChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Authority) -> str:
        return obj.display_name(get_language())


class IntakeForm(PortalFormMixin, forms.Form):
    authority = AuthorityChoiceField(
        label=_("Authority"), queryset=Authority.objects.filter(active=True).order_by("name_en")
    )
    instrument = forms.ChoiceField(
        label=_("Instrument"),
        choices=[("", "—")]
        + [c for c in InstrumentType.choices if c[0] != InstrumentType.PRESERVATION_ORDER],
    )
    authority_reference = forms.CharField(label=_("The authority's reference number"), max_length=100)
    issued_on = DateField(label=_("Issued on"))
    received_on = DateField(label=_("Received on"))
    due_on = DateField(label=_("Due on"))
    categories = forms.MultipleChoiceField(
        label=_("Categories of data requested"), choices=DISCLOSABLE, widget=forms.CheckboxSelectMultiple
    )
    requested_from = DateField(label=_("Requested period from"))
    requested_to = DateField(label=_("Requested period to"))
    notice_rule = forms.ChoiceField(label=_("Customer notice"), choices=NoticeRule.choices)
    notice_withheld_until = DateField(label=_("Notice withheld until"), required=False)
    emergency = forms.BooleanField(label=_("Emergency request (life or safety at risk)"), required=False)
    language = forms.ChoiceField(label=_("Language of the package"), choices=Language.choices)
    legal_basis = forms.CharField(
        label=_("Legal basis cited"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    document = forms.FileField(label=_("Scanned order (PDF)"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["document"].widget.attrs["accept"] = "application/pdf,.pdf"


class PreservationIntakeForm(PortalFormMixin, forms.Form):
    authority = AuthorityChoiceField(
        label=_("Authority"), queryset=Authority.objects.filter(active=True).order_by("name_en")
    )
    authority_reference = forms.CharField(label=_("The authority's reference number"), max_length=100)
    issued_on = DateField(label=_("Issued on"))
    received_on = DateField(label=_("Received on"))
    hold_expires_on = DateField(label=_("Hold expires on"))
    legal_basis = forms.CharField(
        label=_("Legal basis cited"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CustomerKeysForm(PortalFormMixin, forms.Form):
    customer_keys = forms.CharField(
        label=_("Matched customers (one data-map key per line)"),
        widget=forms.Textarea(attrs={"rows": 3, "dir": "ltr", "placeholder": "store:1042"}),
    )

    def clean_customer_keys(self) -> list[str]:
        keys = [line.strip() for line in self.cleaned_data["customer_keys"].splitlines() if line.strip()]
        if not keys:
            raise forms.ValidationError(_("Name at least one matched customer."))
        return keys


class RenewForm(PortalFormMixin, forms.Form):
    until = DateField(label=_("Hold until"))


class ConvertForm(PortalFormMixin, forms.Form):
    disclosure_reference = forms.CharField(
        label=_("Reference of the disclosure order that follows"),
        max_length=20,
        widget=forms.TextInput({"dir": "ltr"}),
    )
