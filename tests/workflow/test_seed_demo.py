from django.apps import apps
from django.core.management import call_command

from workflow.models import AuditEvent, DisclosureOrder, DisclosureState


def _snapshot():
    """Every row of every table of the project's apps, as plain values."""
    rows = {}
    for model in apps.get_models():
        if model._meta.app_label in {"workflow", "requests_portal", "auth"}:
            rows[model._meta.label] = sorted(map(repr, model.objects.values_list()))
    return rows


def test_seed_demo_makes_an_order_in_every_state_with_its_audit_history(db):
    call_command("seed_demo", verbosity=0)
    states = set(DisclosureOrder.objects.values_list("state", flat=True))
    assert states == set(DisclosureState.values)
    closed = DisclosureOrder.objects.get(state=DisclosureState.CLOSED)
    assert AuditEvent.objects.filter(stream=f"disclosureorder:{closed.reference}").count() >= 10


def test_seed_demo_twice_changes_nothing(db):
    call_command("seed_demo", verbosity=0)
    first = _snapshot()
    call_command("seed_demo", verbosity=0)
    assert _snapshot() == first


def test_demo_orders_free_text_is_in_the_orders_language(db):
    call_command("seed_demo", verbosity=0)
    asking = DisclosureOrder.objects.get(state=DisclosureState.CLARIFICATION_REQUESTED)
    assert asking.language == "fa"
    assert asking.clarification_request.startswith("منظور کدام حساب")
    english = DisclosureOrder.objects.get(state=DisclosureState.RELEASED)
    assert english.language == "en"
    checks = english.verification_checks.values_list("note", flat=True)
    assert set(checks) == {"Article 104 of the Code of Criminal Procedure"}
