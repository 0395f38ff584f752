import pytest

from tests.workflow.store_helpers import seed
from workflow.errors import InvalidInput
from workflow.identity import national_id_check_digit, national_id_is_valid, normalise_identifier
from workflow.matching import MatchStatus, match_identifiers
from workflow.store import PERSONAS

MARYAM, SARA, ALI, ZAHRA, HOSSEIN = PERSONAS


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return seed(tmp_path_factory.mktemp("store"), customers=60)


def match(store, *identifiers):
    return match_identifiers(identifiers, datamap=store.datamap)


@pytest.mark.parametrize(
    ("kind", "value", "customer"),
    [
        ("national_id", MARYAM.national_id, 1),  # stored in Persian digits
        ("national_id", ALI.national_id, 3),  # stored in Arabic-Indic digits
        ("national_id", "۰۰۱۲۳۴۵۶۷۹", 1),  # asked in Persian digits
        ("national_id", "12345679", 1),  # leading zeros dropped by a spreadsheet
        ("mobile", "09121234567", 1),  # stored as "+98 912 123 4567"
        ("mobile", "+989351112233", 2),  # stored in Persian digits
        ("mobile", "٠٩١٩١٢٣٤٥٠٠", 3),  # asked in Arabic-Indic digits, stored as 0098-…
        ("mobile", "0936 123 4567", 4),  # stored without its leading zero
        ("landline", "+982188776655", 1),  # stored as 021-88776655
        ("landline", "03132223344", 3),  # stored in Persian digits
        ("email", "sara.ahmadi@example.com", 2),  # stored in capitals
        ("email", "ALI.KARIMI@example.IR", 3),  # mixed case on both sides
        ("username", "Maryam.Rezaei", 1),
        ("order_number", "sp-10000001", 1),
    ],
)
def test_messy_forms_on_either_side_match_the_same_customer(store, kind, value, customer):
    report = match(store, (kind, value))
    [result] = report.identifiers
    assert result.status == MatchStatus.MATCHED
    assert result.customer_keys == (f"store:{customer}",)


def test_each_match_carries_its_evidence(store):
    report = match(store, ("national_id", MARYAM.national_id))
    [evidence] = report.identifiers[0].evidence
    assert evidence.as_dict() == {
        "kind": "national_id",
        "identifier": MARYAM.national_id,
        "source": "store",
        "table": "customers",
        "column": "national_id",
        "row": "1",
        "stored_as": MARYAM.stored_national_id,
        "normalised": "yes",
    }


def test_a_shared_landline_is_ambiguous_and_names_both_customers(store):
    report = match(store, ("landline", "021-2233-4455"))
    [result] = report.identifiers
    assert result.status == MatchStatus.AMBIGUOUS
    assert result.customer_keys == ("store:4", "store:5")
    assert {(e.table, e.column) for e in result.evidence} >= {("customers", "landline")}


def test_an_identifier_nobody_holds_is_absent(store):
    report = match(store, ("mobile", "09390000000"), ("email", "nobody@example.ir"))
    assert [r.status for r in report.identifiers] == [MatchStatus.ABSENT, MatchStatus.ABSENT]
    assert report.customers == ()


def test_a_national_id_failing_its_check_digit_is_reported_never_matched(store):
    wrong = MARYAM.national_id[:9] + str((int(MARYAM.national_id[9]) + 1) % 10)
    report = match(store, ("national_id", wrong))
    [result] = report.identifiers
    assert result.status == MatchStatus.INVALID
    assert "check digit" in result.problem
    assert result.customer_keys == ()
    assert report.customers == ()


def test_a_malformed_phone_and_an_unknown_kind_are_reported_as_invalid(store):
    report = match(store, ("mobile", "0912"), ("passport", "X123"))
    assert [r.status for r in report.identifiers] == [MatchStatus.INVALID, MatchStatus.INVALID]
    assert "not a phone number" in report.identifiers[0].problem or "valid" in report.identifiers[0].problem
    assert "not a known kind" in report.identifiers[1].problem


def test_identifiers_pointing_to_different_customers_are_conflicting(store):
    report = match(store, ("national_id", MARYAM.national_id), ("mobile", SARA.mobile))
    assert report.conflicting
    assert [c.customer_key for c in report.customers] == ["store:1", "store:2"]


def test_identifiers_agreeing_on_one_customer_gather_all_their_evidence(store):
    report = match(
        store, ("national_id", MARYAM.national_id), ("mobile", "09121234567"), ("email", MARYAM.email)
    )
    assert not report.conflicting
    [customer] = report.customers
    assert customer.customer_key == "store:1"
    assert {e["column"] for e in customer.evidence_dicts()} == {"national_id", "mobile", "email"}


def test_an_order_number_finds_its_customer_through_the_orders_table(store):
    report = match(store, ("order_number", "SP-10000001"))
    [evidence] = report.identifiers[0].evidence
    assert (evidence.table, evidence.column, evidence.customer_key) == ("orders", "number", "store:1")


# --- identity normalisation (workflow.identity) -----------------------------------------------


def test_the_national_id_check_digit_follows_the_mod_11_rule():
    assert national_id_check_digit("001234567") == "9"
    assert national_id_is_valid("0012345679")
    assert not national_id_is_valid("0012345678")
    assert not national_id_is_valid("1111111111")  # repeated digits pass mod 11 but are not issued


@pytest.mark.parametrize(
    ("kind", "raw", "normal"),
    [
        ("national_id", "۰۰۱۲۳۴۵۶۷۹", "0012345679"),
        ("national_id", "٠٠١٢٣٤٥٦٧٩", "0012345679"),
        ("national_id", "001-234567-9", "0012345679"),
        ("mobile", "+98 912 123 4567", "+989121234567"),
        ("mobile", "0098 912 123 4567", "+989121234567"),
        ("mobile", "۰۹۱۲۱۲۳۴۵۶۷", "+989121234567"),
        ("landline", "021-88776655", "+982188776655"),
        ("email", "Sara.Ahmadi@EXAMPLE.com", "sara.ahmadi@example.com"),
        ("username", "علي\u200cكريمي", "علیکریمی"),
        ("order_number", "sp-10000001", "SP-10000001"),
    ],
)
def test_identifiers_normalise_digits_letters_prefixes_and_case(kind, raw, normal):
    assert normalise_identifier(kind, raw) == normal


def test_direction_control_characters_are_refused():
    with pytest.raises(InvalidInput, match="direction-control"):
        normalise_identifier("email", "sara\u202e@example.com")
