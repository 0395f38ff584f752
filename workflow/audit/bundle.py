"""Evidence bundles: their format, and their verification with nothing but the bundle and a CA.

A bundle is UTF-8 JSON Lines:

1. ``header``: format, store, scope, time of export, the signer's certificate;
2. one ``event`` line per event: the event as its canonical document plus its hash, its leaf
   index in the audit Merkle log, the checkpoint that first covered it, and its inclusion
   proof in the bundle's anchor checkpoint (the latest one);
3. one ``checkpoint`` line per checkpoint involved (signed statements, as the witness holds them);
4. one ``consistency`` line per earlier checkpoint: its proof that the anchor extends it;
5. a last ``signature`` line: the store's signature over every byte before it.

This module imports nothing that touches a database: ``manage.py verify_evidence`` is the
check an outside auditor runs.
"""

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from .canonical import canonical_data, event_bytes
from .merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from .signing import SignatureRefused, verify_statement
from .witness import SignedCheckpoint
from .witness_verify import check_body, parse_time

FORMAT = "requests-portal/evidence/v1"


class EvidenceRefused(ValueError):
    """The bundle does not prove what it claims; the message says where."""


def event_document(
    *,
    stream: str,
    seq: int,
    occurred_at: str,
    actor: str,
    actor_role: str,
    action: str,
    object_ref: str,
    data_json: str,
    prev_hash: str,
    hash: str,
) -> dict[str, Any]:
    """An event as a reader sees it (the canonical document's keys, empty strings as null)."""
    return {
        "stream": stream,
        "seq": seq,
        "occurred_at": occurred_at,
        "actor": actor or None,
        "role": actor_role or None,
        "action": action,
        "object": object_ref or None,
        "data": json.loads(data_json),
        "prev_hash": prev_hash,
        "hash": hash,
    }


def recompute_hash(document: dict[str, Any]) -> str:
    return hashlib.sha256(
        event_bytes(
            stream=document["stream"],
            seq=document["seq"],
            occurred_at=document["occurred_at"],
            actor=document["actor"] or "",
            actor_role=document["role"] or "",
            action=document["action"],
            object_ref=document["object"] or "",
            data_json=canonical_data(document["data"]),
            prev_hash=document["prev_hash"],
        )
    ).hexdigest()


def line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n"


@dataclass
class Verified:
    scope: dict[str, Any]
    events: int
    streams: int
    anchor: dict[str, Any]
    checkpoints: list[int] = field(default_factory=list)


def _leaf_positions(bodies: dict[int, dict[str, Any]]) -> dict[tuple[str, int], tuple[int, int]]:
    """(stream, seq) -> (leaf index, checkpoint number) for every range of the given checkpoints."""
    positions: dict[tuple[str, int], tuple[int, int]] = {}
    for number, body in bodies.items():
        index = body["previous"]["tree_size"] if body["previous"] else 0
        for stream, first, last, _h in body["ranges"]:
            for seq in range(first, last + 1):
                positions[(stream, seq)] = (index, number)
                index += 1
    return positions


def verify_bundle(raw: bytes, ca: x509.Certificate) -> Verified:
    """Check every claim of the bundle; raise EvidenceRefused naming the first that fails."""
    try:
        text = raw.decode()
    except UnicodeDecodeError as err:
        raise EvidenceRefused("the bundle is not UTF-8 text") from err
    body, sep, last = text.rstrip("\n").rpartition("\n")
    if not sep:
        raise EvidenceRefused("the bundle has no signature line")
    try:
        records = [json.loads(item) for item in body.split("\n")]
        signature = json.loads(last)
    except json.JSONDecodeError as err:
        raise EvidenceRefused(f"line {err.lineno} of the bundle is not JSON") from err
    header = records[0] if records else {}
    if header.get("type") != "header" or header.get("format") != FORMAT:
        raise EvidenceRefused(f"the bundle does not start with a {FORMAT} header")
    signed_bytes = (body + "\n").encode()
    if (
        signature.get("type") != "signature"
        or signature.get("sha256") != hashlib.sha256(signed_bytes).hexdigest()
    ):
        raise EvidenceRefused("the bundle's content does not match its signed digest (it was changed)")
    try:
        exported_at = parse_time(header["created_at"])
        verify_statement(signed_bytes, signature["signature"], header["certificate"], ca, at=exported_at)
    except (SignatureRefused, KeyError, ValueError) as err:
        raise EvidenceRefused(f"the bundle's signature: {err}") from err

    kinds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records[1:]:
        kinds[record.get("type", "")].append(record)
    bodies: dict[int, dict[str, Any]] = {}
    for record in kinds["checkpoint"]:
        try:
            checkpoint = check_body(SignedCheckpoint.from_json(record), ca)
        except (SignatureRefused, ValueError) as err:
            raise EvidenceRefused(f"a checkpoint in the bundle: {err}") from err
        bodies[checkpoint["number"]] = checkpoint
    if not bodies:
        raise EvidenceRefused("the bundle holds no signed checkpoint")
    anchor = bodies[max(bodies)]
    anchor_root = bytes.fromhex(anchor["root_hash"])
    proven = {anchor["number"]}
    for record in kinds["consistency"]:
        earlier = bodies.get(record["from"])
        if earlier is None or record["to"] != anchor["number"]:
            raise EvidenceRefused(
                f"a consistency proof names checkpoints {record['from']}→{record['to']} it lacks"
            )
        try:
            verify_consistency(
                earlier["tree_size"],
                anchor["tree_size"],
                bytes.fromhex(earlier["root_hash"]),
                anchor_root,
                [bytes.fromhex(node) for node in record["proof"]],
            )
        except (ProofError, ValueError) as err:
            raise EvidenceRefused(
                f"checkpoint {anchor['number']} does not extend {earlier['number']}: {err}"
            ) from err
        proven.add(earlier["number"])
    if unproven := sorted(set(bodies) - proven):
        raise EvidenceRefused(f"no consistency proof joins checkpoint(s) {unproven} to the anchor")

    positions = _leaf_positions(bodies)
    previous_hash: dict[str, tuple[int, str]] = {}
    for record in sorted(kinds["event"], key=lambda r: (r["event"]["stream"], r["event"]["seq"])):
        event = record["event"]
        where = f"event {event.get('stream')!r} seq {event.get('seq')}"
        try:
            digest = recompute_hash(event)
        except (KeyError, TypeError, ValueError) as err:
            raise EvidenceRefused(f"{where} is malformed") from err
        if digest != event["hash"]:
            raise EvidenceRefused(f"{where}: its content does not match its hash")
        before = previous_hash.get(event["stream"])
        if before and before[0] + 1 == event["seq"] and before[1] != event["prev_hash"]:
            raise EvidenceRefused(f"{where} does not follow the event before it")
        previous_hash[event["stream"]] = (event["seq"], digest)
        if positions.get((event["stream"], event["seq"])) != (record["leaf_index"], record["checkpoint"]):
            raise EvidenceRefused(f"{where} is not where checkpoint {record['checkpoint']} puts it")
        try:
            verify_inclusion(
                record["leaf_index"],
                anchor["tree_size"],
                leaf_hash(bytes.fromhex(digest)),
                [bytes.fromhex(node) for node in record["inclusion"]],
                anchor_root,
            )
        except (ProofError, ValueError) as err:
            raise EvidenceRefused(f"{where} is not in checkpoint {anchor['number']}: {err}") from err
    if len(kinds["event"]) != header.get("events"):
        raise EvidenceRefused(
            f"the header announces {header.get('events')} events; the bundle holds {len(kinds['event'])}"
        )
    if header["scope"].get("order"):
        for stream, (last_seq, _h) in previous_hash.items():
            seqs = sorted(r["event"]["seq"] for r in kinds["event"] if r["event"]["stream"] == stream)
            if seqs != list(range(1, last_seq + 1)):
                raise EvidenceRefused(f"the order's stream {stream!r} is not complete from its first event")
    return Verified(
        scope=header["scope"],
        events=len(kinds["event"]),
        streams=len(previous_hash),
        anchor=anchor,
        checkpoints=sorted(bodies),
    )


def sign_lines(lines: list[bytes], signer: Any) -> bytes:
    """Append the signature line; ``signer`` maps bytes to (base64 signature, certificate)."""
    content = b"".join(lines)
    signature, _cert = signer(content)
    return content + line(
        {"type": "signature", "sha256": hashlib.sha256(content).hexdigest(), "signature": signature}
    )
