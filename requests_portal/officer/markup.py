"""Form fields as the officers' desk shows them, written out in Python.

The order page shows up to a dozen forms (the verification checklist, the scope, every action
the user may take), and Django renders each widget and each radio or checkbox option through a
template of its own: that was most of the cost of rendering the page. ``field_html`` writes the
same markup directly — label, widget with Django's attributes (``required``, ``aria-invalid``,
``aria-describedby``, ``checked``, ``selected``), help text and the field's errors beside it — from
the widget's own context (``Widget.get_context``), so values, ids, names and choices are Django's.
A widget whose template it does not know (a file input) is rendered by Django, as before.
``tests/requests_portal/test_officer_markup.py`` checks it against Django's own rendering.
"""

from typing import Any

from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

W = "django/forms/widgets/"
# Widget templates that are Django's input.html under another name.
INPUT_TEMPLATES = {
    f"{W}{name}.html"
    for name in (
        "input",
        "text",
        "checkbox",
        "date",
        "datetime",
        "time",
        "email",
        "number",
        "password",
        "hidden",
        "search",
        "tel",
        "url",
        "color",
    )
}


def escaped_html(html: str) -> SafeString:
    """Markup built here from values each passed through ``conditional_escape``: safe as it is."""
    return mark_safe(html)  # noqa: S308 - every value in it was escaped by the caller


def _e(value: Any) -> str:
    return str(conditional_escape(value))


def _attrs(attrs: dict[str, Any]) -> str:
    # django/forms/widgets/attrs.html: False omits the attribute, True writes its name alone.
    return "".join(
        f" {_e(name)}" if value is True else f' {_e(name)}="{_e(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input(widget: dict[str, Any]) -> str:
    value = "" if widget["value"] is None else f' value="{_e(str(widget["value"]))}"'
    return f'<input type="{_e(widget["type"])}" name="{_e(widget["name"])}"{value}{_attrs(widget["attrs"])}>'


def _select(widget: dict[str, Any]) -> str:
    parts = [f'<select name="{_e(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_e(group_name)}">')
        for option in options:
            parts.append(
                f'\n  <option value="{_e(str(option["value"]))}"{_attrs(option["attrs"])}>'
                f"{_e(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def widget_html(bf: forms.BoundField) -> str:
    """What ``{{ bf }}`` renders (``BoundField.as_widget``), without a template per widget."""
    widget = bf.field.widget
    template_name = widget.template_name
    known = template_name in INPUT_TEMPLATES or template_name in (f"{W}textarea.html", f"{W}select.html")
    if not known or bf.field.show_hidden_initial or bf.field.localize:
        return str(bf.as_widget())
    attrs = bf.build_widget_attrs({}, widget)
    if bf.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", bf.auto_id)
    context = widget.get_context(bf.html_name, bf.value(), attrs)["widget"]
    if template_name == f"{W}textarea.html":
        value = _e(context["value"]) if context["value"] else ""
        return f'<textarea name="{_e(context["name"])}"{_attrs(context["attrs"])}>\n{value}</textarea>'
    if template_name == f"{W}select.html":
        return _select(context)
    return _input(context)


def errors_html(bf: forms.BoundField) -> str:
    if not bf.errors:
        return ""
    items = "".join(f"<li>{_e(e)}</li>" for e in bf.errors)
    return f'<ul class="errorlist" id="{_e(bf.auto_id)}_error" data-field="{_e(bf.name)}">{items}</ul>'


def field_html(bf: forms.BoundField) -> SafeString:
    """One field of a desk form: the markup ``templates/officer/_field.html`` wrote."""
    widget = bf.field.widget
    input_type = getattr(widget, "input_type", None)
    multiple = getattr(widget, "allow_multiple_selected", False)
    label = _e(bf.label)
    if input_type == "checkbox" and not multiple:
        for_id = _e(bf.id_for_label)
        body = f'  {widget_html(bf)}<label class="form-check-label" for="{for_id}">{label}</label>\n'
    elif (multiple and input_type == "checkbox") or input_type == "radio":
        choices = "".join(
            f'<div class="form-check">{_input(choice.data)}'
            f'<label class="form-check-label" for="{_e(choice.id_for_label)}">'
            f"{_e(choice.choice_label)}</label></div>"
            for choice in bf.subwidgets
        )
        body = (
            f'  <fieldset><legend class="form-label fs-6 mb-1">{label}</legend>\n'
            f'  <div class="d-flex flex-wrap gap-3">{choices}</div></fieldset>\n'
        )
    else:
        required = ' <span class="text-danger" aria-hidden="true">*</span>' if bf.field.required else ""
        body = (
            f'  <label class="form-label" for="{_e(bf.id_for_label)}">{label}{required}</label>\n'
            f"  {widget_html(bf)}\n"
        )
    help_text = f'<div class="form-text">{_e(bf.help_text)}</div>' if bf.help_text else ""
    check = " form-check" if input_type == "checkbox" else ""
    return escaped_html(f'<div class="mb-3{check}">\n\n{body}\n{help_text}\n{errors_html(bf)}\n</div>\n')


def form_errors_html(form: forms.BaseForm) -> SafeString:
    """A form's errors that belong to no field: the markup ``_form_errors.html`` wrote."""
    errors = form.non_field_errors()
    if not errors:
        return escaped_html("\n")
    items = "".join(f"<div>{_e(e)}</div>" for e in errors)
    return escaped_html(f'<div class="alert alert-danger py-2" role="alert">{items}</div>\n')
