"""The package's fixed wording in its two languages.

A package is a legal document in the order's language, not in the reader's interface language,
so its wording is chosen by ``order.language`` explicitly rather than by the active locale.
"""

from workflow.choices import DataCategory, InstrumentType

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
