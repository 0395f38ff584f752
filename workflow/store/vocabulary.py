"""The words and numbers the demo store is made of: places with their area codes, streets,
mobile prefixes of Iran's operators, products, reviews, browsers, paths and address blocks."""

PLACES = [  # province, city, landline area code
    ("تهران", "تهران", "021"),
    ("اصفهان", "اصفهان", "031"),
    ("خراسان رضوی", "مشهد", "051"),
    ("فارس", "شیراز", "071"),
    ("آذربایجان شرقی", "تبریز", "041"),
    ("البرز", "کرج", "026"),
    ("خوزستان", "اهواز", "061"),
    ("قم", "قم", "025"),
    ("کرمانشاه", "کرمانشاه", "083"),
    ("گیلان", "رشت", "013"),
    ("یزد", "یزد", "035"),
    ("کرمان", "کرمان", "034"),
]
STREETS = [
    "خیابان ولیعصر",
    "خیابان انقلاب",
    "بلوار کشاورز",
    "خیابان آزادی",
    "خیابان شریعتی",
    "بلوار فردوس",
    "خیابان چهارباغ",
    "خیابان امام رضا",
    "بلوار چمران",
    "خیابان طالقانی",
    "خیابان حافظ",
    "خیابان مطهری",
]
MOBILE_PREFIXES = [
    "0912",
    "0919",
    "0935",
    "0936",
    "0937",
    "0938",
    "0939",
    "0901",
    "0902",
    "0910",
    "0913",
    "0914",
    "0915",
    "0916",
    "0917",
    "0918",
    "0990",
    "0921",
]
PRODUCTS = [
    "گوشی موبایل سامسونگ",
    "هدفون بی‌سیم",
    "کتری برقی",
    "کتاب بوف کور",
    "فرش ماشینی ۷۰۰ شانه",
    "لپ‌تاپ لنوو",
    "ساعت هوشمند",
    "زعفران قائنات",
    "Espresso machine",
    "Running shoes",
]
REVIEW_BODIES = [
    "کیفیت عالی بود و به‌موقع رسید.",
    "بسته‌بندی آسیب دیده بود.",
    "نسبت به قیمت خوب است.",
    "Arrived on time, works as described.",
    "رنگ با عکس فرق داشت.",
    "-۱ ستاره به خاطر تأخیر ارسال",
    "+ پیشنهاد می‌کنم",
    "@پشتیبانی لطفا پاسخ دهید",
]
USER_AGENTS = [
    "Mozilla/5.0 (Linux; Android 13; SM-A536E) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/121.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:122.0) Gecko/20100101 Firefox/122.0",
    "DigikalaApp/2.9.1 (Android 12)",
]
PATHS = [
    "/",
    "/product/{n}",
    "/cart",
    "/checkout",
    "/profile",
    "/orders",
    "/search?q=%D9%87%D8%AF%D9%81%D9%88%D9%86",
]
IP_PREFIXES = ["5.112", "2.176", "37.98", "91.98", "151.238", "185.120", "94.182", "78.39"]
