import hashlib
import sqlite3

import phonenumbers
import pytest
from django.core.management import call_command

from tests.workflow.store_helpers import seed
from workflow.identity import national_id_is_valid, normalise_identifier, stored_form
from workflow.store import HEAVY_CUSTOMER_ID, PERSONAS

TABLES = [
    "customers",
    "addresses",
    "orders",
    "order_recipients",
    "invoices",
    "reviews",
    "review_edits",
    "access_log",
    "marketing_consents",
]


def _dump(path) -> str:
    conn = sqlite3.connect(path)
    digest = hashlib.sha256()
    for table in TABLES:
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY id"):
            digest.update(repr(row).encode())
    conn.close()
    return digest.hexdigest()


def test_the_same_seed_builds_the_same_store_and_another_seed_a_different_one(tmp_path):
    first = seed(tmp_path / "a", customers=30, seed_value=11)
    again = seed(tmp_path / "b", customers=30, seed_value=11)
    other = seed(tmp_path / "c", customers=30, seed_value=12)
    path = lambda store: store.database_url.removeprefix("sqlite:///")  # noqa: E731
    assert _dump(path(first)) == _dump(path(again))
    assert _dump(path(first)) != _dump(path(other))


@pytest.fixture
def store_db(tmp_path):
    store = seed(tmp_path, customers=120, seed_value=3)
    conn = sqlite3.connect(store.database_url.removeprefix("sqlite:///"))
    yield conn
    conn.close()


def test_every_national_id_passes_its_check_digit_once_normalised(store_db):
    ids = [row[0] for row in store_db.execute("SELECT national_id FROM customers")]
    assert len(ids) == 120
    assert all(national_id_is_valid(stored_form("national_id", raw) or "") for raw in ids)
    # …while some are stored in Persian or Arabic-Indic digits, as real stores hold them.
    assert any(any("۰" <= ch <= "۹" for ch in raw) for raw in ids)
    assert any(any("٠" <= ch <= "٩" for ch in raw) for raw in ids)


def test_phone_numbers_are_real_iranian_mobiles_and_landlines_in_messy_forms(store_db):
    mobiles = [row[0] for row in store_db.execute("SELECT mobile FROM customers")]
    landlines = [
        row[0] for row in store_db.execute("SELECT landline FROM customers WHERE landline IS NOT NULL")
    ]
    for raw in mobiles:
        number = phonenumbers.parse(stored_form("mobile", raw) or "x", "IR")
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
    assert all(stored_form("landline", raw) for raw in landlines)
    assert any(raw.startswith("+98") for raw in mobiles)
    assert any(raw.startswith("09") for raw in mobiles)
    assert any("-" in raw for raw in landlines)


def test_names_are_persian_and_english_and_some_use_arabic_letters(store_db):
    names = [row[0] + " " + row[1] for row in store_db.execute("SELECT first_name, last_name FROM customers")]
    assert any(name.isascii() for name in names)
    assert any("ی" in name or "ک" in name for name in names)
    assert any("ي" in name or "ك" in name for name in names)


def test_some_emails_are_stored_in_capitals(store_db):
    emails = [row[0] for row in store_db.execute("SELECT email FROM customers")]
    assert any(email != email.lower() for email in emails)


def test_the_personas_are_stored_messily_but_normalise_to_their_identifiers(store_db):
    for persona in PERSONAS:
        row = store_db.execute(
            "SELECT national_id, mobile, email FROM customers WHERE id = ?", (persona.customer_id,)
        ).fetchone()
        assert normalise_identifier("national_id", row[0]) == persona.national_id
        assert normalise_identifier("mobile", row[1]) == persona.mobile
        assert normalise_identifier("email", row[2]) == persona.email


def test_orders_invoices_third_parties_reviews_edits_logs_and_consents_are_generated(store_db):
    counts = {t: store_db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    assert all(counts[t] > 0 for t in TABLES), counts
    assert counts["marketing_consents"] == 2 * 120
    channels = {row[0] for row in store_db.execute("SELECT channel FROM marketing_consents")}
    assert channels == {"email", "sms"}
    hashes = [row[0] for row in store_db.execute("SELECT password_hash FROM customers")]
    assert all(h.startswith("$2b$12$") for h in hashes)


def test_the_heavy_customer_gets_exactly_the_rows_asked_for(tmp_path):
    store = seed(tmp_path, customers=10, heavy_rows=5000)
    conn = sqlite3.connect(store.database_url.removeprefix("sqlite:///"))
    count = conn.execute(
        "SELECT count(*) FROM access_log WHERE customer_id = ?", (HEAVY_CUSTOMER_ID,)
    ).fetchone()[0]
    conn.close()
    assert count == 5000


def test_seed_store_command_writes_the_store_and_its_map_under_var(tmp_path, settings, capsys):
    settings.VAR_DIR = tmp_path
    call_command("seed_store", "--customers", "12", "--seed", "5")
    assert (tmp_path / "store" / "store.sqlite3").exists()
    text = (tmp_path / "store" / "datamap.yaml").read_text()
    assert f"sqlite:///{tmp_path / 'store' / 'store.sqlite3'}" in text
    assert "customers 12" in capsys.readouterr().out
    call_command("check_datamap", str(tmp_path / "store" / "datamap.yaml"))


def test_a_database_url_with_a_password_is_not_written_into_the_map(tmp_path, monkeypatch):
    from workflow.management.commands import seed_store as command

    captured = {}

    def fake_seed(**kwargs):
        captured.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(command, "seed_store", fake_seed)
    with pytest.raises(SystemExit):
        call_command(
            "seed_store",
            "--database-url",
            "postgres://store:pw@db/store",
            "--datamap",
            str(tmp_path / "m.yaml"),
        )
    assert captured["datamap_url"] == "${STORE_DATABASE_URL}"
