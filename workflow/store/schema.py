"""The demo store's tables (per dialect) and the data map that describes them.

The data map doubles as the worked example for administrators writing their own store's map.
"""

from __future__ import annotations

from workflow.datamap.connect import MYSQL, POSTGRESQL, Dialect

# (table, [(column, logical type)]): types are mapped per dialect below.
TABLES: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "customers",
        [
            ("id", "pk"),
            ("username", "str"),
            ("first_name", "str"),
            ("last_name", "str"),
            ("national_id", "str"),
            ("birth_date", "date"),
            ("mobile", "str"),
            ("landline", "str"),
            ("email", "str"),
            ("password_hash", "str"),
            ("registered_at", "ts"),
        ],
    ),
    (
        "addresses",
        [
            ("id", "pk"),
            ("customer_id", "fk"),
            ("label", "str"),
            ("province", "str"),
            ("city", "str"),
            ("street", "str"),
            ("postal_code", "str"),
            ("phone", "str"),
            ("created_at", "ts"),
        ],
    ),
    (
        "orders",
        [
            ("id", "pk"),
            ("customer_id", "fk"),
            ("number", "str"),
            ("placed_at", "ts"),
            ("status", "str"),
            ("total_rials", "int"),
            ("address_id", "fk"),
        ],
    ),
    (
        "order_recipients",
        [
            ("id", "pk"),
            ("order_id", "fk"),
            ("full_name", "str"),
            ("mobile", "str"),
            ("province", "str"),
            ("city", "str"),
            ("street", "str"),
            ("postal_code", "str"),
        ],
    ),
    (
        "invoices",
        [
            ("id", "pk"),
            ("order_id", "fk"),
            ("number", "str"),
            ("issued_at", "ts"),
            ("buyer_name", "str"),
            ("buyer_national_id", "str"),
            ("amount_rials", "int"),
            ("tax_rials", "int"),
        ],
    ),
    (
        "reviews",
        [
            ("id", "pk"),
            ("customer_id", "fk"),
            ("product", "str"),
            ("rating", "int"),
            ("body", "text"),
            ("status", "str"),
            ("created_at", "ts"),
        ],
    ),
    (
        "review_edits",
        [
            ("id", "pk"),
            ("review_id", "fk"),
            ("edited_at", "ts"),
            ("editor", "str"),
            ("previous_body", "text"),
            ("reason", "str"),
        ],
    ),
    (
        "access_log",
        [
            ("id", "pk"),
            ("customer_id", "fk"),
            ("at", "ts"),
            ("ip", "str"),
            ("user_agent", "text"),
            ("cookie_id", "str"),
            ("path", "str"),
            ("status", "int"),
        ],
    ),
    (
        "marketing_consents",
        [("id", "pk"), ("customer_id", "fk"), ("channel", "str"), ("opted_in", "bool"), ("changed_at", "ts")],
    ),
]

INDEXES = [
    ("addresses", "customer_id"),
    ("orders", "customer_id"),
    ("orders", "number"),
    ("order_recipients", "order_id"),
    ("invoices", "order_id"),
    ("reviews", "customer_id"),
    ("review_edits", "review_id"),
    ("access_log", "customer_id, at"),
    ("marketing_consents", "customer_id"),
    ("customers", "email"),
]

_TYPES = {
    "sqlite": {
        "pk": "INTEGER PRIMARY KEY",
        "fk": "INTEGER",
        "str": "VARCHAR(255)",
        "text": "TEXT",
        "int": "INTEGER",
        "date": "TEXT",
        "ts": "TEXT",
        "bool": "INTEGER",
    },
    "postgresql": {
        "pk": "BIGINT PRIMARY KEY",
        "fk": "BIGINT",
        "str": "VARCHAR(255)",
        "text": "TEXT",
        "int": "BIGINT",
        "date": "DATE",
        "ts": "TIMESTAMPTZ",
        "bool": "BOOLEAN",
    },
    "mysql": {
        "pk": "BIGINT PRIMARY KEY",
        "fk": "BIGINT",
        "str": "VARCHAR(255)",
        "text": "TEXT",
        "int": "BIGINT",
        "date": "DATE",
        "ts": "DATETIME",
        "bool": "TINYINT(1)",
    },
}


def ddl(dialect: Dialect) -> list[str]:
    q = dialect.quote
    statements = []
    for table, _columns in reversed(TABLES):
        cascade = " CASCADE" if dialect is POSTGRESQL else ""
        statements.append(f"DROP TABLE IF EXISTS {q(table)}{cascade}")
    types = _TYPES[dialect.name]
    suffix = " DEFAULT CHARSET=utf8mb4" if dialect is MYSQL else ""
    for table, columns in TABLES:
        body = ", ".join(f"{q(name)} {types[kind]}" for name, kind in columns)
        statements.append(f"CREATE TABLE {q(table)} ({body}){suffix}")
    for table, columns_text in INDEXES:
        cols = ", ".join(q(c.strip()) for c in columns_text.split(","))
        name = f"ix_{table}_{columns_text.replace(', ', '_')}"
        statements.append(f"CREATE INDEX {q(name)} ON {q(table)} ({cols})")
    return statements


def columns_of(table: str) -> list[str]:
    return [name for name, _kind in dict(TABLES)[table]]


DATAMAP_TEMPLATE = """\
# The data map of the demo store (generated by `manage.py seed_store`).
# One source per store database. Credentials never go in this file: write
#   database_url: "${{STORE_DATABASE_URL}}"
# and set the variable in the portal's environment.
version: 1
sources:
  {source}:
    database_url: "{database_url}"
    customer_table: customers
    tables:
      customers:
        primary_key: id
        customer: {{column: id}}
        timestamp: null            # the profile as it stands: never filtered by date
        identifiers:
          national_id: national_id
          mobile: mobile
          landline: landline
          email: email
          username: username
        columns:
          username: identity
          first_name: identity
          last_name: identity
          national_id: identity
          birth_date: identity
          registered_at: identity
          mobile: contact
          landline: contact
          email: contact
          password_hash: credential
      addresses:
        primary_key: id
        customer: {{column: customer_id}}
        timestamp: null
        identifiers: {{landline: phone}}
        columns:
          label: address
          province: address
          city: address
          street: address
          postal_code: address
          phone: address
          created_at: address
      orders:
        primary_key: id
        customer: {{column: customer_id}}
        timestamp: placed_at
        identifiers: {{order_number: number}}
        columns:
          number: order
          placed_at: order
          status: order
          total_rials: order
      order_recipients:            # people the customer shipped to: used only to ship that order
        primary_key: id
        customer: {{column: order_id, through: orders}}
        columns:
          full_name: third_party_recipient
          mobile: third_party_recipient
          province: third_party_recipient
          city: third_party_recipient
          street: third_party_recipient
          postal_code: third_party_recipient
      invoices:
        primary_key: id
        customer: {{column: order_id, through: orders}}
        timestamp: issued_at
        columns:
          number: invoice
          issued_at: invoice
          buyer_name: invoice
          buyer_national_id: invoice
          amount_rials: invoice
          tax_rials: invoice
      reviews:
        primary_key: id
        customer: {{column: customer_id}}
        timestamp: created_at
        columns:
          product: review
          rating: review
          body: review
          status: review
          created_at: review
      review_edits:                # support may edit reviews to fit the site's rules
        primary_key: id
        customer: {{column: review_id, through: reviews}}
        timestamp: edited_at
        columns:
          edited_at: review
          editor: review
          previous_body: review
          reason: review
      access_log:
        primary_key: id
        customer: {{column: customer_id}}
        timestamp: at
        columns:
          at: network_activity
          ip: network_activity
          user_agent: network_activity
          cookie_id: network_activity
          path: network_activity
          status: network_activity
      marketing_consents:
        primary_key: id
        customer: {{column: customer_id}}
        timestamp: null
        columns:
          channel: marketing_consent
          opted_in: marketing_consent
          changed_at: marketing_consent
    categories:
      identity:
        erasure:
          method: anonymise
          with:
            customers.username: null
            customers.first_name: "حذف‌شده"
            customers.last_name: ""
            customers.national_id: null
            customers.birth_date: null
        rectifiable: [customers.first_name, customers.last_name, customers.birth_date]
      contact:
        erasure:
          method: anonymise
          with: {{customers.email: null, customers.mobile: null, customers.landline: null}}
        rectifiable: [customers.email, customers.mobile, customers.landline]
      address:
        erasure: {{method: delete}}
        rectifiable:
          [addresses.province, addresses.city, addresses.street, addresses.postal_code, addresses.phone]
      order:
        erasure:
          method: retain
          reason: "Orders back the invoices that tax law requires us to keep."
      invoice:
        erasure:
          method: retain
          reason: "Invoices are official tax documents; the law requires us to keep them."
      third_party_recipient:
        erasure: {{method: delete}}
      review:
        erasure:
          method: anonymise
          with: {{reviews.body: "", reviews.status: "removed", review_edits.previous_body: ""}}
      network_activity:
        erasure: {{method: delete}}
      marketing_consent:
        erasure:
          method: anonymise
          with: {{marketing_consents.opted_in: false}}
      credential:
        erasure:
          method: anonymise
          with: {{customers.password_hash: "!"}}
    marketing_opt_out:
      table: marketing_consents
      set: {{opted_in: false}}
"""


def datamap_text(*, source: str, database_url: str) -> str:
    return DATAMAP_TEMPLATE.format(source=source, database_url=database_url)
