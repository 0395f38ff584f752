"""The vocabulary of the domain, shared by models, data maps, forms and packages."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DataCategory(models.TextChoices):
    IDENTITY = "identity", _("Identity")
    CONTACT = "contact", _("Contact details")
    ADDRESS = "address", _("Addresses")
    ORDER = "order", _("Orders")
    INVOICE = "invoice", _("Invoices")
    THIRD_PARTY_RECIPIENT = "third_party_recipient", _("Third-party recipients")
    REVIEW = "review", _("Reviews and comments")
    NETWORK_ACTIVITY = "network_activity", _("Network activity (IP addresses, cookies)")
    MARKETING_CONSENT = "marketing_consent", _("Marketing consent")
    CREDENTIAL = "credential", _("Credentials")


# Credentials never leave the store (Metavest policy: the password is the customer's secret).
NEVER_DISCLOSED = frozenset({DataCategory.CREDENTIAL})
# Data of people other than the customer: excluded unless a justification is recorded.
NEEDS_JUSTIFICATION = frozenset({DataCategory.THIRD_PARTY_RECIPIENT})


class IdentifierKind(models.TextChoices):
    NATIONAL_ID = "national_id", _("National ID")
    MOBILE = "mobile", _("Mobile number")
    LANDLINE = "landline", _("Landline number")
    EMAIL = "email", _("E-mail address")
    USERNAME = "username", _("Username")
    ORDER_NUMBER = "order_number", _("Order number")


class AuthorityKind(models.TextChoices):
    COURT = "court", _("Court")
    PROSECUTOR = "prosecutor", _("Prosecutor's office")
    POLICE = "police", _("Police")
    REGULATOR = "regulator", _("Regulator")
    OTHER = "other", _("Other authority")


class InstrumentType(models.TextChoices):
    COURT_ORDER = "court_order", _("Court order")
    JUDICIAL_WARRANT = "judicial_warrant", _("Judicial warrant")
    PROSECUTOR_ORDER = "prosecutor_order", _("Prosecutor's order")
    POLICE_REQUEST = "police_request", _("Police request under judicial authorisation")
    REGULATOR_DEMAND = "regulator_demand", _("Regulator's demand")
    PRESERVATION_ORDER = "preservation_order", _("Preservation order")
    EMERGENCY_REQUEST = "emergency_request", _("Emergency request")


class NoticeRule(models.TextChoices):
    NOTIFY = "notify", _("Customer may be told")
    WITHHOLD_UNTIL_DATE = "withhold_until_date", _("Notice withheld until a date")
    WITHHOLD_UNTIL_LIFTED = "withhold_until_lifted", _("Notice withheld until lifted by the authority")


class VerificationItem(models.TextChoices):
    AUTHORITY_COMPETENT = "authority_competent", _("Authority registered and competent for this instrument")
    AUTHENTICITY_CONFIRMED = "authenticity_confirmed", _("Authenticity confirmed out of band")
    LEGAL_BASIS_CITED = "legal_basis_cited", _("Legal basis cited")
    SCOPE_WITHIN_INSTRUMENT = "scope_within_instrument", _("Scope not broader than the instrument allows")


# Emergency orders may be scoped after identity-only verification: the authority is who it says.
EMERGENCY_VERIFICATION = frozenset(
    {VerificationItem.AUTHORITY_COMPETENT, VerificationItem.AUTHENTICITY_CONFIRMED}
)


class RejectionCode(models.TextChoices):
    AUTHORITY_NOT_COMPETENT = (
        "authority_not_competent",
        _("The authority is not competent for this instrument"),
    )
    NOT_AUTHENTIC = "not_authentic", _("The order could not be authenticated")
    NO_LEGAL_BASIS = "no_legal_basis", _("No legal basis is cited")
    OVERBROAD = "overbroad", _("The demand is broader than the instrument allows")
    DEFECTIVE = "defective", _("The order is incomplete or defective")
    NO_CLARIFICATION = "no_clarification", _("The requested clarification was not given")


class DeliveryMethod(models.TextChoices):
    IN_PERSON = "in_person", _("Handed over in person")
    COURIER = "courier", _("Sealed courier")
    AUTHORITY_PORTAL = "authority_portal", _("Uploaded to the authority's portal")
    SECURE_EMAIL = "secure_email", _("Encrypted e-mail")


class Outcome(models.TextChoices):
    FULFILLED = "fulfilled", _("Fulfilled")
    PARTIALLY_FULFILLED = "partially_fulfilled", _("Partially fulfilled")
    NO_DATA_FOUND = "no_data_found", _("No data found")


class Language(models.TextChoices):
    PERSIAN = "fa", "فارسی"
    ENGLISH = "en", "English"
