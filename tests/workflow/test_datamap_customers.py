import datetime as dt
import sqlite3

import pytest

from tests.workflow.store_helpers import seed
from workflow.datamap import (
    customer_contacts,
    erase_category,
    find_customer_by_contact,
    opt_out_of_marketing,
    rectify,
)
from workflow.errors import InvalidInput
from workflow.extraction import iter_rows
from workflow.store import PERSONAS

MARYAM, SARA, ALI, ZAHRA, HOSSEIN = PERSONAS
EVER = (dt.date(2000, 1, 1), dt.date(2030, 1, 1))


@pytest.fixture
def store(tmp_path):
    return seed(tmp_path, customers=12)


def rows(store, sql, *params):
    conn = sqlite3.connect(store.database_url.removeprefix("sqlite:///"))
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_a_customer_is_found_by_the_contact_registered_in_their_profile(store):
    assert find_customer_by_contact("email", "SARA.AHMADI@example.com", datamap=store.datamap) == "store:2"
    assert find_customer_by_contact("mobile", "+98 912 123 4567", datamap=store.datamap) == "store:1"
    assert find_customer_by_contact("mobile", "09390000000", datamap=store.datamap) is None


def test_sign_in_contacts_are_limited_to_email_and_mobile_and_must_be_well_formed(store):
    with pytest.raises(InvalidInput):
        find_customer_by_contact("national_id", MARYAM.national_id, datamap=store.datamap)
    with pytest.raises(InvalidInput):
        find_customer_by_contact("email", "not-an-address", datamap=store.datamap)


def test_the_registered_contacts_come_back_normalised(store):
    assert customer_contacts("store:2", datamap=store.datamap) == {"email": SARA.email, "mobile": SARA.mobile}
    with pytest.raises(InvalidInput, match="no customer"):
        customer_contacts("store:999", datamap=store.datamap)


def test_deleting_a_category_removes_only_that_customers_rows(store):
    before_others = rows(store, "SELECT count(*) FROM access_log WHERE customer_id <> 1")[0][0]
    result = erase_category("store:1", "network_activity", datamap=store.datamap)
    assert result.method == "delete"
    assert result.rows > 0
    assert rows(store, "SELECT count(*) FROM access_log WHERE customer_id = 1") == [(0,)]
    assert rows(store, "SELECT count(*) FROM access_log WHERE customer_id <> 1")[0][0] == before_others


def test_deleting_through_a_join_removes_the_rows_reached_through_the_customers_orders(store):
    erase_category("store:1", "third_party_recipient", datamap=store.datamap)
    left = rows(
        store,
        "SELECT count(*) FROM order_recipients r JOIN orders o ON r.order_id = o.id WHERE o.customer_id = 1",
    )
    assert left == [(0,)]
    assert rows(store, "SELECT count(*) FROM order_recipients")[0][0] > 0  # others' recipients remain


def test_anonymising_replaces_the_mapped_columns_and_keeps_the_row(store):
    result = erase_category("store:2", "contact", datamap=store.datamap)
    assert (result.method, result.rows) == ("anonymise", 1)
    assert rows(store, "SELECT email, mobile, landline, first_name FROM customers WHERE id = 2") == [
        (None, None, None, "Sara")
    ]


def test_a_retained_category_is_left_alone_with_the_reason(store):
    before = rows(store, "SELECT * FROM invoices")
    result = erase_category("store:1", "invoice", datamap=store.datamap)
    assert result.method == "retain"
    assert "tax" in result.reason
    assert rows(store, "SELECT * FROM invoices") == before


def test_rectifying_returns_before_and_after_and_normalises_identifiers(store):
    change = rectify("store:2", "customers.mobile", "۰۹۱۲ ۰۰۰ ۱۱۲۲", datamap=store.datamap)
    assert (change.before, change.after) == (SARA.stored_mobile, "+989120001122")
    assert rows(store, "SELECT mobile FROM customers WHERE id = 2") == [("+989120001122",)]
    name = rectify("store:2", "customers.last_name", "Ahmadi-Rad", datamap=store.datamap)
    assert (name.before, name.after) == ("Ahmadi", "Ahmadi-Rad")


def test_a_field_the_map_does_not_allow_is_not_rectified(store):
    with pytest.raises(InvalidInput, match="may not be rectified"):
        rectify("store:1", "customers.national_id", "0012345679", datamap=store.datamap)
    with pytest.raises(InvalidInput, match=r"not a valid phone|not a phone"):
        rectify("store:1", "customers.mobile", "0912", datamap=store.datamap)


def test_a_table_with_several_rows_needs_the_row_and_only_the_customers_own(store):
    addresses = rows(store, "SELECT id FROM addresses WHERE customer_id = 1 ORDER BY id")
    other = rows(store, "SELECT id FROM addresses WHERE customer_id = 2 ORDER BY id")[0][0]
    if len(addresses) > 1:
        with pytest.raises(InvalidInput, match="say which one"):
            rectify("store:1", "addresses.city", "قم", datamap=store.datamap)
    change = rectify("store:1", "addresses.city", "قم", row=str(addresses[0][0]), datamap=store.datamap)
    assert change.after == "قم"
    with pytest.raises(InvalidInput, match="not the customer's"):
        rectify("store:1", "addresses.city", "قم", row=str(other), datamap=store.datamap)


def test_an_objection_to_marketing_switches_every_consent_off(store):
    assert opt_out_of_marketing("store:3", datamap=store.datamap) == 2
    assert rows(store, "SELECT opted_in FROM marketing_consents WHERE customer_id = 3") == [(0,), (0,)]
    consents = list(iter_rows("store:3", "marketing_consent", *EVER, datamap=store.datamap))
    assert {c["opted_in"] for c in consents} == {0}
    assert (
        rows(store, "SELECT count(*) FROM marketing_consents WHERE customer_id <> 3 AND opted_in = 1")[0][0]
        > 0
    )
