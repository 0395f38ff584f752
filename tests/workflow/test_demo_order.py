"""`demo_order` runs one order end to end through the real services and writes a package that
`verify_package` accepts."""

import pytest
from django.core.management import call_command

from workflow.models import AuditEvent, DisclosureOrder, DisclosureState


@pytest.mark.django_db(transaction=True)
def test_demo_order_writes_a_released_package_that_verifies(tmp_path, capsys):
    out = tmp_path / "package.pdf"
    call_command("demo_order", "--out", str(out), "--language", "en")
    order = DisclosureOrder.objects.get()
    assert order.state == DisclosureState.RELEASED
    assert out.read_bytes().startswith(b"%PDF")
    actions = set(
        AuditEvent.objects.filter(object_ref__endswith=order.reference).values_list("action", flat=True)
    )
    assert {
        "order.identifiers_matched",
        "order.scope_approved",
        "order.package_ready",
        "order.released",
    } <= actions

    call_command("verify_package", str(out))
    printed = capsys.readouterr().out
    assert order.reference in printed
