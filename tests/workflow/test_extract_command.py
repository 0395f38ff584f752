import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import make_order
from tests.workflow.store_helpers import seed
from workflow.store import PERSONAS

MARYAM = PERSONAS[0]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return seed(tmp_path_factory.mktemp("store"), customers=20, heavy_rows=500)


def run(store, tmp_path, *args):
    return call_command(
        "extract", "--datamap", str(store.datamap_path), "--out", str(tmp_path / "out"), *args
    )


def test_extract_matches_the_identifiers_and_writes_files_and_manifest(store, tmp_path, capsys):
    run(
        store,
        tmp_path,
        "--identifier",
        "national_id=۰۰۱۲۳۴۵۶۷۹",
        "--identifier",
        "mobile=+98 912 123 4567",
        "--categories",
        "identity,network_activity",
        "--from",
        "1403-01-01",
        "--to",
        "1404-12-29",
    )
    out = capsys.readouterr().out
    assert "national_id=۰۰۱۲۳۴۵۶۷۹: matched store:1 (customers.national_id)" in out
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["scope"] == [
        {
            "customer_key": "store:1",
            "categories": ["identity", "network_activity"],
            "date_from": "2024-03-20",
            "date_to": "2026-03-20",
        }
    ]
    assert {f["path"] for f in manifest["files"]} == {
        "store-1/identity.jsonl",
        "store-1/identity.csv",
        "store-1/network_activity.jsonl",
        "store-1/network_activity.csv",
    }
    assert next(f["rows"] for f in manifest["files"] if f["path"] == "store-1/network_activity.jsonl") == 500


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "--identifier",
                "passport=X1",
                "--categories",
                "identity",
                "--from",
                "2025-01-01",
                "--to",
                "2025-02-01",
            ],
            "unknown kind 'passport'",
        ),
        (
            [
                "--identifier",
                "national_id=0012345678",
                "--categories",
                "identity",
                "--from",
                "2025-01-01",
                "--to",
                "2025-02-01",
            ],
            "fails its check digit",
        ),
        (
            [
                "--identifier",
                "mobile=0912",
                "--categories",
                "identity",
                "--from",
                "2025-01-01",
                "--to",
                "2025-02-01",
            ],
            "0912",
        ),
        (
            [
                "--identifier",
                "national_id=0012345679",
                "--categories",
                "identity",
                "--from",
                "1403-13-01",
                "--to",
                "1404-01-01",
            ],
            "a Jalali year has 12 months",
        ),
        (
            [
                "--identifier",
                "national_id=0012345679",
                "--categories",
                "identity",
                "--from",
                "2025-02-30",
                "--to",
                "2025-03-01",
            ],
            "not a day of the Gregorian calendar",
        ),
        (
            [
                "--identifier",
                "national_id=0012345679",
                "--categories",
                "identity",
                "--from",
                "2025-03-01",
                "--to",
                "2025-02-01",
            ],
            "is after --to",
        ),
        (
            [
                "--identifier",
                "national_id=0012345679",
                "--categories",
                "identity,credential",
                "--from",
                "2025-01-01",
                "--to",
                "2025-02-01",
            ],
            "credentials are never extracted",
        ),
        (
            [
                "--identifier",
                "national_id=0012345679",
                "--categories",
                "identity,browsing",
                "--from",
                "2025-01-01",
                "--to",
                "2025-02-01",
            ],
            "unknown browsing",
        ),
        (
            [
                "--identifier",
                "national_id=0012345679",
                "--categories",
                "third_party_recipient",
                "--from",
                "2025-01-01",
                "--to",
                "2025-02-01",
            ],
            "--third-party-justification",
        ),
        (
            [
                "--identifier",
                "landline=02122334455",
                "--categories",
                "identity",
                "--from",
                "2025-01-01",
                "--to",
                "2025-02-01",
            ],
            "choose with --customer",
        ),
        (
            [
                "--identifier",
                "mobile=09390000000",
                "--categories",
                "identity",
                "--from",
                "2025-01-01",
                "--to",
                "2025-02-01",
            ],
            "no customer matched",
        ),
        (
            [
                "--identifier",
                "national_id",
                "--categories",
                "identity",
                "--from",
                "2025-01-01",
                "--to",
                "2025-02-01",
            ],
            "KIND=VALUE",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_written(store, tmp_path, args, message):
    with pytest.raises(CommandError) as caught:
        run(store, tmp_path, *args)
    assert message in str(caught.value)
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []


def test_an_ambiguous_identifier_is_resolved_by_choosing_the_customer(store, tmp_path):
    run(
        store,
        tmp_path,
        "--identifier",
        "landline=02122334455",
        "--customer",
        "store:5",
        "--categories",
        "contact",
        "--from",
        "2025-01-01",
        "--to",
        "2025-02-01",
    )
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [s["customer_key"] for s in manifest["scope"]] == ["store:5"]


def test_a_source_that_is_down_fails_the_command_naming_it(store, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        store.datamap_path.read_text().replace(store.database_url, f"sqlite:///{tmp_path / 'gone.sqlite3'}")
    )
    with pytest.raises(CommandError, match=r"“store”.*cannot be reached"):
        call_command(
            "extract",
            "--datamap",
            str(broken),
            "--out",
            str(tmp_path / "out"),
            "--identifier",
            "national_id=0012345679",
            "--categories",
            "identity",
            "--from",
            "2025-01-01",
            "--to",
            "2025-02-01",
        )
    assert not (tmp_path / "out").exists()


def test_a_range_or_category_outside_the_order_is_refused(store, tmp_path, officer):
    order = make_order("scoping", officer=officer)  # asks for identity, order, contact in 2024
    common = ["--identifier", "national_id=0012345679", "--order", order.reference]
    with pytest.raises(CommandError, match="outside order"):
        run(
            store, tmp_path, *common, "--categories", "identity", "--from", "2023-12-01", "--to", "2024-06-01"
        )
    with pytest.raises(CommandError, match="not requested by order"):
        run(store, tmp_path, *common, "--categories", "review", "--from", "2024-01-01", "--to", "2024-06-01")
    run(store, tmp_path, *common, "--categories", "identity", "--from", "2024-01-01", "--to", "2024-06-01")
    assert (tmp_path / "out" / "manifest.json").exists()
