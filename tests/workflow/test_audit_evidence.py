"""Evidence bundles verify offline, with nothing but the bundle and the CA, and fail on one changed byte."""

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.audit_support import raw_sql, record_history
from tests.factories import make_order
from workflow.audit.bundle import EvidenceRefused, verify_bundle
from workflow.audit.evidence import export_order
from workflow.keys import load_certificate
from workflow.models import DisclosureState


@pytest.fixture
def order_bundle(db: None, signing: Any, officer: Any, approver: Any, tmp_path: Path) -> tuple[Path, Any]:
    order = make_order(DisclosureState.AWAITING_APPROVAL, officer=officer, approver=approver)
    call_command("checkpoint_audit", stdout=StringIO())
    record_history({"system": 3, "disclosureorder:DO-OTHER": 2})
    out = tmp_path / "evidence.jsonl"
    call_command("export_evidence", "--order", order.reference, "--out", str(out), stdout=StringIO())
    return out, order


def verify_file(path: Path, ca: Path) -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_evidence", str(path), "--ca", str(ca), stdout=out)
    return out.getvalue()


def test_an_order_bundle_verifies_without_any_database_access(
    order_bundle: tuple[Path, Any], signing: Any, django_db_blocker: Any
) -> None:
    path, _order = order_bundle
    with django_db_blocker.block():  # any query would raise here
        output = verify_file(path, signing.ca_cert)
    assert "evidence verified" in output
    assert "anchored in checkpoint 2" in output


def test_the_bundle_holds_the_order_timeline_and_no_other_stream(order_bundle: tuple[Path, Any]) -> None:
    import json

    path, order = order_bundle
    records = [json.loads(x) for x in path.read_text().splitlines()]
    events = [r["event"] for r in records if r["type"] == "event"]
    assert {e["stream"] for e in events} == {f"disclosureorder:{order.reference}"}
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["action"] == "order.received"
    assert {r["type"] for r in records} == {"header", "event", "checkpoint", "consistency", "signature"}


def test_changing_any_single_byte_makes_the_bundle_fail(order_bundle: tuple[Path, Any], signing: Any) -> None:
    path, _order = order_bundle
    raw = path.read_bytes()
    ca = load_certificate(signing.ca_cert)
    verify_bundle(raw, ca)
    step = max(1, len(raw) // 150)
    for position in range(0, len(raw), step):
        changed = bytearray(raw)
        changed[position] = (changed[position] + 1) % 256
        with pytest.raises(EvidenceRefused):
            verify_bundle(bytes(changed), ca)


def test_the_verify_command_exits_1_for_a_changed_bundle(
    order_bundle: tuple[Path, Any], signing: Any
) -> None:
    path, _order = order_bundle
    path.write_bytes(path.read_bytes().replace(b"order.received", b"order.receivee", 1))
    with pytest.raises(CommandError) as refused:
        verify_file(path, signing.ca_cert)
    assert refused.value.returncode == 1
    assert "REFUSED" in str(refused.value)


def test_a_bundle_from_a_tampered_trail_does_not_verify(db: None, signing: Any, officer: Any) -> None:
    """Exporting cannot launder a rewritten event: its proof no longer reaches the signed root."""
    order = make_order(DisclosureState.VERIFYING, officer=officer)
    call_command("checkpoint_audit", stdout=StringIO())
    stream = f"disclosureorder:{order.reference}"
    raw_sql("UPDATE workflow_auditevent SET data_json = '{}' WHERE stream = %s AND seq = 1", [stream])
    with pytest.raises(EvidenceRefused):
        verify_bundle(export_order(order.reference), load_certificate(signing.ca_cert))


def test_a_bundle_is_refused_under_another_stores_ca(order_bundle: tuple[Path, Any], tmp_path: Path) -> None:
    from workflow.keys import SigningPaths, ensure_demo_signing_material

    other = tmp_path / "other"
    ensure_demo_signing_material(
        SigningPaths(other / "k.pem", other / "c.pem", other / "ca.pem"), store_name="X"
    )
    with pytest.raises(EvidenceRefused, match="not issued by the store's CA"):
        verify_bundle(order_bundle[0].read_bytes(), load_certificate(other / "ca.pem"))


def test_a_date_range_accepts_jalali_dates(db: None, signing: Any, tmp_path: Path) -> None:
    import json

    from django.utils import timezone

    from workflow.calendar import jalali

    record_history({"system": 2, "disclosureorder:DO-X": 1})
    today = jalali(timezone.localdate(), digits="en")
    out = tmp_path / "range.jsonl"
    call_command("export_evidence", "--from", today, "--to", today, "--out", str(out), stdout=StringIO())
    verified = verify_bundle(out.read_bytes(), load_certificate(signing.ca_cert))
    assert verified.events == 3
    assert json.loads(out.read_text().splitlines()[0])["scope"]["from"] == timezone.localdate().isoformat()


def test_an_unknown_order_is_refused_with_a_clear_message(db: None, signing: Any, tmp_path: Path) -> None:
    with pytest.raises(
        CommandError, match="No audit events are recorded for an order with reference DO-NOPE"
    ):
        call_command("export_evidence", "--order", "DO-NOPE", "--out", str(tmp_path / "x.jsonl"))
