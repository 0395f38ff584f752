"""Normalising the identifiers that orders name, so that they match what the store holds.

Persian (۰–۹) and Arabic-Indic (٠–٩) digits become ASCII; Arabic ي/ك become Persian ی/ک;
zero-width and bidirectional control characters are refused (a direction override can make
one identifier look like another); phones become E.164 (libphonenumber); e-mails are compared
case-insensitively; national IDs must pass their check digit.
"""

import re
import unicodedata

import phonenumbers
from django.utils.translation import gettext_lazy as _

from workflow.choices import IdentifierKind
from workflow.errors import InvalidInput

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "ۀ": "ه"})
# Zero-width characters are dropped: they are invisible and common in Persian text (ZWNJ).
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
# Direction controls are refused outright: they make text display differently from what it is.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def normalise_text(value: str) -> str:
    """Digits to ASCII, Arabic letters to Persian, zero-width removed, NFC, trimmed."""
    if BIDI_CONTROLS.search(value):
        raise InvalidInput(_("The value contains invisible direction-control characters."))
    value = unicodedata.normalize("NFKC", value)
    return value.translate(_DIGITS).translate(_LETTERS).translate(_ZERO_WIDTH).strip()


def national_id_is_valid(code: str) -> bool:
    """Iran's 10-digit national code: the last digit checks the first nine (mod 11)."""
    if not re.fullmatch(r"\d{10}", code) or len(set(code)) == 1:
        return False
    total = sum(int(code[i]) * (10 - i) for i in range(9))
    remainder = total % 11
    check = remainder if remainder < 2 else 11 - remainder
    return int(code[9]) == check


def national_id_check_digit(first_nine: str) -> str:
    total = sum(int(first_nine[i]) * (10 - i) for i in range(9))
    remainder = total % 11
    return str(remainder if remainder < 2 else 11 - remainder)


def _phone(value: str, *, mobile: bool) -> str:
    try:
        number = phonenumbers.parse(value, "IR")
    except phonenumbers.NumberParseException as err:
        raise InvalidInput(_("“%(value)s” is not a phone number.") % {"value": value}) from err
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(_("“%(value)s” is not a valid phone number.") % {"value": value})
    kind = phonenumbers.number_type(number)
    is_mobile = kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if mobile and not is_mobile:
        raise InvalidInput(_("“%(value)s” is not a mobile number.") % {"value": value})
    if not mobile and kind == phonenumbers.PhoneNumberType.MOBILE:
        raise InvalidInput(_("“%(value)s” is a mobile number, not a landline.") % {"value": value})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_USERNAME = re.compile(r"^[\w.@+-]{1,150}$")
_ORDER_NUMBER = re.compile(r"^[A-Za-z0-9-]{1,40}$")


def normalise_identifier(kind: str, value: str) -> str:
    """The form in which the store's data is compared; raises InvalidInput naming the problem."""
    if kind not in IdentifierKind.values:
        raise InvalidInput(_("“%(kind)s” is not a known kind of identifier.") % {"kind": kind})
    text = normalise_text(value)
    if not text:
        raise InvalidInput(_("The identifier is empty."))
    if kind == IdentifierKind.NATIONAL_ID:
        digits = re.sub(r"[\s-]", "", text)
        if not re.fullmatch(r"\d{8,10}", digits):
            raise InvalidInput(_("A national ID has 10 digits; “%(value)s” does not.") % {"value": value})
        digits = digits.zfill(10)  # leading zeros are often dropped in spreadsheets
        if not national_id_is_valid(digits):
            raise InvalidInput(_("The national ID “%(value)s” fails its check digit.") % {"value": value})
        return digits
    if kind == IdentifierKind.MOBILE:
        return _phone(text, mobile=True)
    if kind == IdentifierKind.LANDLINE:
        return _phone(text, mobile=False)
    if kind == IdentifierKind.EMAIL:
        if not _EMAIL.match(text):
            raise InvalidInput(_("“%(value)s” is not an e-mail address.") % {"value": value})
        return text.casefold()
    if kind == IdentifierKind.USERNAME:
        if not _USERNAME.match(text):
            raise InvalidInput(_("“%(value)s” is not a valid username.") % {"value": value})
        return text.casefold()
    if not _ORDER_NUMBER.match(text):
        raise InvalidInput(_("“%(value)s” is not a valid order number.") % {"value": value})
    return text.upper()


def stored_form(kind: str, raw: object) -> str | None:
    """The normalised form of a value as the store holds it, or None when it is not a valid
    identifier of that kind (a store's messy data is compared, never trusted or raised on)."""
    if raw is None:
        return None
    try:
        return normalise_identifier(kind, str(raw))
    except InvalidInput:
        return None


def digits_only(raw: object) -> str:
    """ASCII digits of a value, whatever digits it was written in: a cheap pre-filter."""
    return re.sub(r"\D", "", str(raw).translate(_DIGITS))
