"""Customers of the demo store with known identifiers, stored in the messy forms real stores
hold, for the demo, the documentation and the tests."""

from dataclasses import dataclass

from workflow.identity import national_id_check_digit

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC_INDIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
TO_ARABIC_LETTERS = str.maketrans({"ی": "ي", "ک": "ك"})


@dataclass(frozen=True)
class Persona:
    """Customers with known identifiers (stored messily), for the demo, the docs and the tests."""

    customer_id: int
    first_name: str
    last_name: str
    national_id: str  # normalised
    mobile: str  # E.164
    email: str  # normalised
    stored_national_id: str
    stored_mobile: str
    stored_email: str
    landline: str = ""  # E.164
    stored_landline: str = ""
    username: str = ""


def with_check_digit(first_nine: str) -> str:
    """A valid national ID from its first nine digits."""
    return first_nine + national_id_check_digit(first_nine)


PERSONAS = [
    Persona(
        1,
        "مریم",
        "رضایی",
        with_check_digit("001234567"),
        "+989121234567",
        "maryam.rezaei@example.ir",
        stored_national_id=with_check_digit("001234567").translate(PERSIAN_DIGITS),
        stored_mobile="+98 912 123 4567",
        stored_email="maryam.rezaei@example.ir",
        landline="+982188776655",
        stored_landline="021-88776655",
        username="maryam.rezaei",
    ),
    Persona(
        2,
        "Sara",
        "Ahmadi",
        with_check_digit("227654321"),
        "+989351112233",
        "sara.ahmadi@example.com",
        stored_national_id=with_check_digit("227654321"),
        stored_mobile="۰۹۳۵۱۱۱۲۲۳۳",
        stored_email="SARA.AHMADI@EXAMPLE.COM",
        username="sara_ahmadi",
    ),
    Persona(
        3,
        "علی",
        "کریمی",
        with_check_digit("452198765"),
        "+989191234500",
        "ali.karimi@example.ir",
        stored_national_id=with_check_digit("452198765").translate(ARABIC_INDIC_DIGITS),
        stored_mobile="0098-919-123-4500",
        stored_email="Ali.Karimi@Example.ir",
        landline="+983132223344",
        stored_landline="۰۳۱۳۲۲۲۳۳۴۴",
        username="ali.karimi",
    ),
    # Two members of one household share a landline: matching it is ambiguous by nature.
    Persona(
        4,
        "زهرا",
        "موسوی",
        with_check_digit("067123456"),
        "+989361234567",
        "zahra.mousavi@example.ir",
        stored_national_id=with_check_digit("067123456"),
        stored_mobile="9361234567",
        stored_email="zahra.mousavi@example.ir",
        landline="+982122334455",
        stored_landline="+982122334455",
        username="zahra.m",
    ),
    Persona(
        5,
        "حسین",
        "موسوی",
        with_check_digit("067123457"),
        "+989371234567",
        "hossein.mousavi@example.ir",
        stored_national_id=with_check_digit("067123457"),
        stored_mobile="09371234567",
        stored_email="hossein.mousavi@example.ir",
        landline="+982122334455",
        stored_landline="021 2233 4455",
        username="hossein.m",
    ),
]
