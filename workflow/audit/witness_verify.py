"""Read the witness back and check it: the signed checkpoints ``verify_audit`` holds the database to.

Each checkpoint must be signed by a certificate the store's CA issued, numbered without gaps,
linked to its predecessor (number, size and root), and must extend every stream exactly where
the previous one stopped; the heads it implies must give its signed heads root. What comes out
is each stream's head as last signed — what the database must still contain.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from django.conf import settings
from django.core.files.storage import Storage

from workflow.keys import load_certificate

from .checkpoint import STATEMENT_TYPE, heads_root
from .signing import SignatureRefused, verify_statement
from .witness import SignedCheckpoint, read_checkpoints


@dataclass
class WitnessReport:
    checkpoints: int = 0
    latest: dict[str, Any] | None = None  # the last signed statement's body
    promises: dict[str, tuple[int, str, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def check_body(signed: SignedCheckpoint, ca: x509.Certificate) -> dict[str, Any]:
    """The statement's body once its signature and certificate check out (SignatureRefused if not)."""
    try:
        body = signed.body
        issued_at = parse_time(body["issued_at"])
    except (ValueError, KeyError, TypeError) as err:
        raise SignatureRefused("the statement is not a checkpoint") from err
    verify_statement(signed.statement.encode(), signed.signature, signed.certificate, ca, at=issued_at)
    if body.get("type") != STATEMENT_TYPE:
        raise SignatureRefused(f"the statement is a {body.get('type')!r}, not an audit checkpoint")
    return body


def check_sequence(
    found: Sequence[tuple[str, SignedCheckpoint | None]], ca: x509.Certificate
) -> WitnessReport:
    report = WitnessReport()
    heads: dict[str, tuple[int, str, int]] = {}
    previous: dict[str, Any] | None = None
    for name, signed in found:
        if signed is None:
            report.problems.append(f"witness file {name} is not a signed checkpoint")
            break
        try:
            body = check_body(signed, ca)
        except SignatureRefused as err:
            report.problems.append(f"witness file {name}: {err}")
            break
        number = body["number"]
        expected = previous["number"] + 1 if previous else 1
        if number != expected:
            report.problems.append(
                f"witness file {name}: checkpoint {number} where {expected} was due (a gap)"
            )
            break
        link = (
            {
                "number": previous["number"],
                "tree_size": previous["tree_size"],
                "root_hash": previous["root_hash"],
            }
            if previous
            else None
        )
        if body["previous"] != link:
            report.problems.append(
                f"checkpoint {number} does not name checkpoint {expected - 1} as its predecessor"
            )
            break
        size = previous["tree_size"] if previous else 0
        for stream, first, last, last_hash in body["ranges"]:
            done = heads.get(stream, (0, "", 0))[0]
            if first != done + 1 or last < first:
                report.problems.append(
                    f"checkpoint {number} extends stream {stream!r} from seq {first}, not {done + 1}"
                )
            heads[stream] = (last, last_hash, number)
            size += last - first + 1
        if size != body["tree_size"]:
            report.problems.append(
                f"checkpoint {number}: its ranges add up to {size} events, not {body['tree_size']}"
            )
        if report.problems:
            break
        previous = body
        report.checkpoints += 1
    # The heads the whole sequence implies must give the last statement's signed heads root
    # (checked once: each earlier statement is covered by its own signature and ranges).
    if previous and heads_root((s, seq, h) for s, (seq, h, _n) in heads.items()) != previous["heads_root"]:
        report.problems.append(
            f"checkpoint {previous['number']}: the heads the checkpoints imply do not give "
            "its signed heads root"
        )
    report.latest = previous
    report.promises = heads
    return report


def read_witness(storage: Storage | None = None, ca: x509.Certificate | None = None) -> WitnessReport:
    ca = ca or load_certificate(settings.SIGNING_CA_CERT_PATH)
    return check_sequence(read_checkpoints(storage), ca)
