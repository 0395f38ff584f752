"""The desk's forms are written out in Python (``requests_portal.officer.markup``): the markup must
be Django's own, attribute for attribute, so that names, ids, labels, errors and accessibility
attributes are those the browser tests and the screen readers rely on."""

from typing import Any

import pytest
from django import forms
from django.utils import translation

from requests_portal.officer import forms as desk
from requests_portal.officer.markup import errors_html, field_html, form_errors_html, widget_html


def django_field_html(bf: forms.BoundField) -> str:
    """The markup the desk's ``_field.html`` template wrote, from Django's widget rendering."""
    widget = bf.field.widget
    input_type = getattr(widget, "input_type", None)
    multiple = getattr(widget, "allow_multiple_selected", False)
    if input_type == "checkbox" and not multiple:
        body = f'  {bf}<label class="form-check-label" for="{bf.id_for_label}">{bf.label}</label>\n'
    elif (multiple and input_type == "checkbox") or input_type == "radio":
        choices = "".join(
            f'<div class="form-check">{c.tag()}<label class="form-check-label" for="{c.id_for_label}">'
            f"{c.choice_label}</label></div>"
            for c in bf
        )
        body = (
            f'  <fieldset><legend class="form-label fs-6 mb-1">{bf.label}</legend>\n'
            f'  <div class="d-flex flex-wrap gap-3">{choices}</div></fieldset>\n'
        )
    else:
        star = ' <span class="text-danger" aria-hidden="true">*</span>' if bf.field.required else ""
        body = f'  <label class="form-label" for="{bf.id_for_label}">{bf.label}{star}</label>\n  {bf}\n'
    check = " form-check" if input_type == "checkbox" else ""
    return f'<div class="mb-3{check}">\n\n{body}\n\n{errors_html(bf)}\n</div>\n'


def desk_forms(bound: bool) -> list[forms.BaseForm]:
    data: dict[str, Any] = {
        "authenticity_confirmed-passed": "",
        "authenticity_confirmed-note": 'a <b>"note"</b>',
        "reason": "",
        "note": "x & y",
        "code": "bogus",
        "method": "",
        "recipient": "",
        "delivered_at": "1403/13/40",
        "outcome": "",
        "customer_key": "",
        "categories": ["nonsense"],
        "date_from": "not a date",
        "third_party_justification": "<script>",
        "followup_due": "2025-02-30",
        "question": "",
    }
    made: list[forms.BaseForm] = [
        desk.CheckForm(data if bound else None, prefix="authenticity_confirmed"),
        desk.ScopeLineForm(data if bound else None, initial={"categories": ["orders"]}),
        desk.ScopeJustificationForm(data if bound else None),
    ]
    for form_class in (
        desk.ReasonForm,
        desk.NoteForm,
        desk.ClarificationForm,
        desk.RejectForm,
        desk.EmergencyForm,
        desk.FormalOrderForm,
        desk.DeliveryForm,
        desk.CloseForm,
        desk.IdentifierForm,
    ):
        made.append(form_class(data if bound else None))
    for form in made:
        if bound:
            form.is_valid()
            form.add_error(None, "Refused <for a reason>")
    return made


@pytest.mark.parametrize("language", ["fa", "en"])
@pytest.mark.parametrize("bound", [False, True], ids=["fresh", "with errors"])
def test_every_desk_field_is_written_as_django_renders_it(language: str, bound: bool) -> None:
    with translation.override(language):
        for form in desk_forms(bound):
            for bf in form:
                assert widget_html(bf) == str(bf.as_widget()), (type(form).__name__, bf.name)
                assert field_html(bf) == django_field_html(bf), (type(form).__name__, bf.name)


def test_a_field_with_errors_shows_them_beside_it_and_marks_the_widget_invalid() -> None:
    form = desk.ReasonForm({"reason": ""})
    form.is_valid()
    html = field_html(form["reason"])
    assert 'aria-invalid="true"' in html
    assert '<ul class="errorlist" id="id_reason_error" data-field="reason"><li>' in html
    # The widget points screen readers at that list: the id it names is the list's.
    assert 'aria-describedby="id_reason_error"' in html


def test_a_form_refused_as_a_whole_says_why_above_its_fields_escaped() -> None:
    form = desk.NoteForm({})
    form.is_valid()
    assert form_errors_html(form) == "\n"
    form.add_error(None, "Refused <now>")
    assert form_errors_html(form) == (
        '<div class="alert alert-danger py-2" role="alert"><div>Refused &lt;now&gt;</div></div>\n'
    )
