"""The package's fixed wording in its two languages.

A package is a legal document in the order's language, not in the reader's interface language,
so its wording is chosen by ``order.language`` explicitly rather than by the active locale.
"""

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from workflow.choices import DataCategory, InstrumentType

if TYPE_CHECKING:
    from .document import PackageDocument

WORDING: dict[str, dict[str, str]] = {
    "en": {
        "title": "Disclosure package",
        "cover": "Cover letter",
        "to": "To",
        "from": "From",
        "instrument": "Instrument",
        "authority_reference": "Your reference",
        "portal_reference": "Our reference",
        "issued_on": "Issued on",
        "received_on": "Received on",
        "generated_at": "Generated on",
        "package_id": "Package id",
        "cover_body": (
            "In response to the order cited above, we disclose the personal data it covers, "
            "and only that data. The printed tables are a readable extract; the complete data "
            "are attached to this file as JSON and CSV, listed with their SHA-256 digests in "
            "the manifest. The file is sealed with the store's electronic signature at release."
        ),
        "no_data": "No data found: no record of the store matches the scope of this order.",
        "scope": "Scope",
        "customer": "Customer",
        "categories_requested": "Requested",
        "categories_produced": "Produced",
        "period": "Period",
        "rows": "Rows",
        "exclusions": "Exclusions and why",
        "reason": "Reason",
        "data": "Data",
        "first_rows": (
            "The first {printed} of {total} rows are printed; all {total} rows are in the attachment {name}."
        ),
        "all_rows": "All {total} rows are printed and are also in the attachment {name}.",
        "manifest": "Manifest of attachments",
        "file": "File",
        "format": "Format",
        "size": "Bytes",
        "custody": "Chain of custody",
        "custody_intro": "Every recorded event of this order, with its position in the hash chain.",
        "seq": "No.",
        "time": "Time (UTC)",
        "action": "Action",
        "actor": "Actor",
        "hash": "Hash",
        "confidential": "Confidential — disclosed to {authority} under reference {reference}",
        "page": "Page {page} of {pages}",
        "excluded_credentials": "Credentials are never disclosed.",
        "excluded_third_party": "Third-party recipient data is excluded unless a justification is recorded.",
        "excluded_not_scoped": "Not in the approved scope for this customer.",
        "third_party_justification": "Justification recorded for third-party data",
        "none": "—",
    },
    "fa": {
        "title": "بستهٔ افشای اطلاعات",
        "cover": "نامهٔ پوششی",
        "to": "به",
        "from": "از",
        "instrument": "نوع دستور",
        "authority_reference": "شمارهٔ دستور",
        "portal_reference": "شمارهٔ پیگیری ما",
        "issued_on": "تاریخ صدور",
        "received_on": "تاریخ دریافت",
        "generated_at": "تاریخ تهیه",
        "package_id": "شناسهٔ بسته",
        "cover_body": (
            "در پاسخ به دستور یادشده، اطلاعات شخصی مشمول آن دستور و فقط همان اطلاعات "
            "تقدیم می‌شود. جدول‌های چاپی گزیده‌ای خواناست؛ همهٔ داده‌ها به صورت JSON و CSV "
            "پیوست همین فایل است و چکیدهٔ SHA-256 هر پیوست در فهرست پیوست‌ها آمده است. "
            "این فایل هنگام ارسال با امضای الکترونیکی فروشگاه مهر می‌شود."
        ),
        "no_data": "اطلاعاتی یافت نشد: هیچ سابقه‌ای در فروشگاه با دامنهٔ این دستور مطابقت ندارد.",
        "scope": "دامنه",
        "customer": "مشتری",
        "categories_requested": "درخواست‌شده",
        "categories_produced": "ارائه‌شده",
        "period": "بازهٔ زمانی",
        "rows": "تعداد ردیف",
        "exclusions": "موارد مستثنا و دلیل آن",
        "reason": "دلیل",
        "data": "داده‌ها",
        "first_rows": (
            "{printed} ردیف نخست از {total} ردیف چاپ شده است؛ همهٔ {total} ردیف در پیوست {name} آمده است."
        ),
        "all_rows": "همهٔ {total} ردیف چاپ شده و در پیوست {name} نیز آمده است.",
        "manifest": "فهرست پیوست‌ها",
        "file": "فایل",
        "format": "قالب",
        "size": "بایت",
        "custody": "زنجیرهٔ نگهداری",
        "custody_intro": "همهٔ رویدادهای ثبت‌شدهٔ این دستور، با جایگاهشان در زنجیرهٔ درهم‌سازی.",
        "seq": "ردیف",
        "time": "زمان (UTC)",
        "action": "اقدام",
        "actor": "کاربر",
        "hash": "درهم‌ساز",
        "confidential": "محرمانه — افشاشده برای {authority} به شمارهٔ {reference}",
        "page": "صفحهٔ {page} از {pages}",
        "excluded_credentials": "اطلاعات ورود (گذرواژه) هرگز افشا نمی‌شود.",
        "excluded_third_party": "اطلاعات گیرندگان ثالث بدون ثبت توجیه افشا نمی‌شود.",
        "excluded_not_scoped": "در دامنهٔ تأییدشده برای این مشتری نیست.",
        "third_party_justification": "توجیه ثبت‌شده برای اطلاعات اشخاص ثالث",
        "none": "—",
    },
}

# The access package (a customer's own data, DESIGN §1) speaks to the customer: these replace
# the disclosure wording key by key, on the same template. An empty label hides its line (the
# authority's instrument and reference, the date of receipt mean nothing to a customer).
ACCESS = "access"
ACCESS_WORDING: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your data, as held by {store} — your request {reference} of {date}",
        "cover": "Letter to you",
        "instrument": "",
        "authority_reference": "",
        "portal_reference": "Your request",
        "issued_on": "Submitted on",
        "received_on": "",
        "cover_body": (
            "You asked us for a copy of the personal data we hold about you. This file holds all "
            "of it, category by category, for the whole period we hold, except what is listed "
            "below as not included, each with its reason. The printed tables are a readable "
            "extract; the complete data are attached to this file as JSON and CSV files, listed "
            "with their SHA-256 digests in the manifest."
        ),
        "no_data": "We hold no data about you in the categories below.",
        "scope": "What this file holds",
        "customer": "Your account",
        "categories_requested": "Categories",
        "categories_produced": "Included (rows)",
        "exclusions": "What is not included, and why",
        "excluded_credentials": (
            "Your password: the store keeps only a one-way hash of it, which cannot be turned back "
            "into your password, and never hands it out, to keep your account safe."
        ),
        "excluded_third_party": (
            "The names, addresses and phone numbers of the people you sent orders to: they are "
            "other people's data, and handing them out would breach their privacy."
        ),
        "custody": "History of your request",
        "custody_intro": "Every recorded step of your request, with its position in the hash chain.",
        "confidential": "Personal — your own data, for you only — request {reference}",
        "verify": "How to verify this file",
        "verify_body": (
            "This file is sealed with the store's electronic signature. To check that it is "
            "authentic and unchanged, upload it on the verification page below: it checks the "
            "signature, that every attached file matches its SHA-256 in the manifest, and that "
            "this file was issued for your request. A PDF reader that shows signatures also "
            "shows whether the file was changed after it was signed."
        ),
    },
    "fa": {
        "title": "داده‌های شما نزد {store} — درخواست شما به شمارهٔ {reference} مورخ {date}",
        "cover": "نامه به شما",
        "instrument": "",
        "authority_reference": "",
        "portal_reference": "شمارهٔ درخواست شما",
        "issued_on": "تاریخ ثبت درخواست",
        "received_on": "",
        "cover_body": (
            "شما رونوشتی از داده‌های شخصی‌ای را خواسته بودید که از شما نزد ما نگهداری می‌شود. "
            "این فایل همهٔ آن داده‌ها را، دسته به دسته و برای تمام دوره‌ای که نگه داشته‌ایم، در بر "
            "دارد؛ جز مواردی که در پایین با ذکر دلیل آمده است. جدول‌های چاپی گزیده‌ای خواناست؛ "
            "همهٔ داده‌ها به صورت فایل‌های JSON و CSV پیوست همین فایل است و چکیدهٔ SHA-256 هر "
            "پیوست در فهرست پیوست‌ها آمده است."
        ),
        "no_data": "در دسته‌های زیر هیچ داده‌ای از شما نزد ما نیست.",
        "scope": "آنچه این فایل در بر دارد",
        "customer": "حساب شما",
        "categories_requested": "دسته‌ها",
        "categories_produced": "آمده در این فایل (تعداد ردیف)",
        "exclusions": "آنچه در این فایل نیامده و چرا",
        "excluded_credentials": (
            "گذرواژهٔ شما: فروشگاه فقط چکیدهٔ یک‌طرفهٔ آن را نگه می‌دارد که به گذرواژه برنمی‌گردد، "
            "و برای امنیت حسابتان آن را به هیچ‌کس نمی‌دهد."
        ),
        "excluded_third_party": (
            "نام، نشانی و تلفن کسانی که برایشان سفارش فرستاده‌اید: این‌ها داده‌های اشخاص دیگر است "
            "و دادن آن‌ها حریم خصوصی آنان را نقض می‌کند."
        ),
        "custody": "سابقهٔ درخواست شما",
        "custody_intro": "همهٔ گام‌های ثبت‌شدهٔ درخواست شما، با جایگاهشان در زنجیرهٔ درهم‌سازی.",
        "confidential": "شخصی — داده‌های خود شما، فقط برای شما — درخواست {reference}",
        "verify": "راستی‌آزمایی این فایل",
        "verify_body": (
            "این فایل با امضای الکترونیکی فروشگاه مهر شده است. برای اطمینان از اصالت و "
            "دست‌نخوردگی آن، فایل را در صفحهٔ راستی‌آزمایی زیر بارگذاری کنید: امضا، تطابق هر "
            "پیوست با چکیدهٔ SHA-256 آن در فهرست پیوست‌ها و صدور این فایل برای درخواست شما "
            "بررسی می‌شود. هر نمایشگر PDF که امضاها را نشان می‌دهد نیز نشان می‌دهد که آیا فایل "
            "پس از امضا تغییر کرده است."
        ),
    },
}


def package_wording(
    doc: "PackageDocument", format_date: Callable[[dt.date, str], str], isolate: Callable[[str], str]
) -> dict[str, str]:
    """The wording of ``doc``: the disclosure wording, or for an access package the same keys
    reworded to the customer, with the store, request and date filled into its title."""
    words = WORDING[doc.language]
    if doc.variant != ACCESS:
        return words
    words = {**words, **ACCESS_WORDING[doc.language]}
    words["title"] = words["title"].format(
        store=doc.store_name,
        reference=isolate(doc.order_reference),
        date=format_date(doc.issued_on, doc.language),
    )
    return words


CATEGORY_FA = {
    DataCategory.IDENTITY: "اطلاعات هویتی",
    DataCategory.CONTACT: "اطلاعات تماس",
    DataCategory.ADDRESS: "نشانی‌ها",
    DataCategory.ORDER: "سفارش‌ها",
    DataCategory.INVOICE: "فاکتورها",
    DataCategory.THIRD_PARTY_RECIPIENT: "گیرندگان ثالث",
    DataCategory.REVIEW: "نظرها و دیدگاه‌ها",
    DataCategory.NETWORK_ACTIVITY: "فعالیت شبکه (نشانی IP، کوکی)",
    DataCategory.MARKETING_CONSENT: "رضایت بازاریابی",
    DataCategory.CREDENTIAL: "اطلاعات ورود",
}

INSTRUMENT_FA = {
    InstrumentType.COURT_ORDER: "دستور دادگاه",
    InstrumentType.JUDICIAL_WARRANT: "حکم قضایی",
    InstrumentType.PROSECUTOR_ORDER: "دستور دادستان",
    InstrumentType.POLICE_REQUEST: "درخواست پلیس با مجوز قضایی",
    InstrumentType.REGULATOR_DEMAND: "مطالبهٔ نهاد ناظر",
    InstrumentType.PRESERVATION_ORDER: "دستور حفظ داده",
    InstrumentType.EMERGENCY_REQUEST: "درخواست فوری",
}


def category_label(category: str, language: str) -> str:
    if language == "fa":
        return CATEGORY_FA.get(category, category)  # type: ignore[call-overload]
    return str(DataCategory(category).label) if category in DataCategory.values else category


def instrument_label(instrument: str, language: str) -> str:
    if language == "fa":
        return INSTRUMENT_FA.get(instrument, instrument)  # type: ignore[call-overload]
    return str(InstrumentType(instrument).label) if instrument in InstrumentType.values else instrument
