from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from workflow.calendar import parse_date
from workflow.errors import InvalidInput
from workflow.models import Authority

from .queries import TrailFilter


class DateField(forms.CharField):
    """A day in Jalali or Gregorian, in Persian or Latin digits."""

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return None
        try:
            return parse_date(text)
        except InvalidInput as err:
            raise forms.ValidationError(str(err)) from err


class TrailFilterForm(forms.Form):
    first_day = DateField(
        label=_("From"), required=False, widget=forms.TextInput(attrs={"placeholder": "1404-01-01"})
    )
    last_day = DateField(
        label=_("To"), required=False, widget=forms.TextInput(attrs={"placeholder": "1404-06-31"})
    )
    actor = forms.CharField(label=_("Actor"), required=False, max_length=80)
    action = forms.CharField(label=_("Action"), required=False, max_length=80)
    order = forms.CharField(label=_("Order"), required=False, max_length=40)
    authority = forms.ModelChoiceField(label=_("Authority"), required=False, queryset=Authority.objects.all())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first_day"), data.get("last_day")
        if first and last and last < first:
            self.add_error("last_day", _("The range ends before it starts."))
        return data

    def trail_filter(self) -> TrailFilter:
        if not self.is_valid():
            return TrailFilter()
        data = self.cleaned_data
        return TrailFilter(
            first_day=data.get("first_day"),
            last_day=data.get("last_day"),
            actor=(data.get("actor") or "").strip(),
            action=(data.get("action") or "").strip(),
            order=(data.get("order") or "").strip(),
            authority=data.get("authority"),
        )
