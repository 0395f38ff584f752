"""Audit trail benchmarks on PostgreSQL, each figure beside a raw baseline measured in the same run.

1. Append rate (events/s) with 1 and 8 concurrent writers (processes, distinct orders' streams,
   each append in its own transaction as in production) beside a plain INSERT of a similar row.
   Target: appends >= 50% of plain INSERT with 8 writers.
2. ``verify_audit`` rate over 1,000,000 events as it runs by default (``AUDIT_VERIFY_PROCESSES``,
   "auto": two processes here when the host has two CPUs or more; the line says how many ran), then
   in the other of one or two processes, for information, beside hashlib SHA-256 (in this one
   process) over the same canonical bytes; each the best of three rounds, and the rounds interleaved
   (a pass of raw hashing, the default, the other), so that all three see the same neighbours.
   Target: >= 30% of the raw hashing rate.
3. Checkpoint time over those events (the first checkpoint covers them all) and after 1,000 more,
   beside the raw hashing time of the same bytes; inclusion/consistency proof and bundle sizes.

Uses a dedicated database (``BENCH_AUDIT_DB``, default ``bench_audit``; created and dropped here) on
BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432). ``BENCH_EVENTS`` changes the 1,000,000;
``BENCH_ONLY=appends`` (or ``verify``) runs one part; ``BENCH_ONLY=costs`` (not run by default)
splits one writer's cost per event into client CPU, server CPU and WAL, for both kinds.

    .venv/bin/python bench/audit.py
"""

import datetime as dt
import hashlib
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("BENCH_AUDIT_DB", "bench_audit")  # two runs at once need two names
EVENTS = int(os.environ.get("BENCH_EVENTS", "1000000"))
PER_STREAM = 50
SCRATCH = Path(tempfile.mkdtemp(prefix="bench_audit_"))
os.environ["DATABASE_URL"] = f"{SERVER}/{DATABASE}"
os.environ["PORTAL_VAR_DIR"] = str(SCRATCH)
os.environ["DJANGO_SETTINGS_MODULE"] = "requests_portal.settings"
os.environ.setdefault("LOG_LEVEL", "WARNING")


def admin(sql: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def setup_database() -> None:
    admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    admin(f"CREATE DATABASE {DATABASE}")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_plain (LIKE workflow_auditevent INCLUDING ALL)")


# --- 1. appends --------------------------------------------------------------------------------


def _write(kind: str, stream: str, count: int) -> None:
    """``count`` appends to ``stream`` (or plain INSERTs of a similar row), each in its own
    transaction as in production."""
    from django.db import connection, transaction

    from workflow.audit import record

    if kind == "audit":
        for i in range(count):
            with transaction.atomic():
                record("order.viewed", actor=None, stream=stream, obj=stream, data={"i": i, "by": "bench"})
    else:
        now = dt.datetime.now(dt.UTC)
        nonce = os.urandom(8).hex()
        with connection.cursor() as cursor:
            for i in range(count):
                with transaction.atomic():
                    cursor.execute(
                        "INSERT INTO bench_plain (stream, seq, occurred_at, actor, actor_role, action,"
                        " object_ref, data_json, prev_hash, hash)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        [
                            stream,
                            i + 1,
                            now,
                            "system",
                            "system",
                            "order.viewed",
                            stream,
                            f'{{"by":"bench","i":{i}}}',
                            "0" * 64,
                            hashlib.sha256(f"{nonce}{i}".encode()).hexdigest(),
                        ],
                    )


def _writer(
    kind: str, writer: int, count: int, ready: "mp.synchronize.Barrier", out: "mp.Queue[float]"
) -> None:
    from django.db import connection

    stream = f"disclosureorder:BENCH-{kind}-{writer}-{os.getpid()}"
    connection.ensure_connection()
    ready.wait()
    started = time.perf_counter()
    _write(kind, stream, count)
    out.put(time.perf_counter() - started)
    connection.close()


def rate(kind: str, writers: int, per_writer: int) -> float:
    from django.db import connections

    connections.close_all()
    ctx = mp.get_context("fork")
    ready, out = ctx.Barrier(writers + 1), ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(kind, w + writers * 100, per_writer, ready, out))
        for w in range(writers)
    ]
    for proc in procs:
        proc.start()
    ready.wait()
    started = time.perf_counter()
    for proc in procs:
        proc.join()
    elapsed = time.perf_counter() - started
    return writers * per_writer / elapsed


def bench_appends() -> None:
    """Best of three interleaved rounds each: the machine is shared, and a single round mostly
    measures the neighbours."""
    print("\n== appends (each in its own transaction; distinct orders' streams; best of 3 rounds)")
    for writers, per_writer in ((1, 1000), (8, 300)):
        rate("plain", writers, 50)  # warm up connections and caches
        plain = audit = 0.0
        for _round in range(3):
            plain = max(plain, rate("plain", writers, per_writer))
            audit = max(audit, rate("audit", writers, per_writer))
        print(
            f"{writers} writer(s): audit append {audit:9,.0f} events/s   plain INSERT {plain:9,.0f} rows/s   "
            f"ratio {audit / plain:6.1%}" + ("   (target >= 50%)" if writers == 8 else "")
        )


def _backend_cpu(pid: int) -> float | None:
    """The server backend's CPU seconds (user + system), when it runs on this machine."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_costs(count: int = 3000) -> None:
    """Where an append's cost goes, beside a plain INSERT's (``BENCH_ONLY=costs``): per event, the
    writer's CPU, its server backend's CPU (read from /proc: a local server only) and the WAL
    written (the whole cluster's: other databases' writes count too). One writer, best of three."""
    from django.db import connection

    print(f"\n== cost per event (1 writer, {count:,} events, best of 3)")
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()

    def wal() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn")
            return int(cursor.fetchone()[0])

    for kind in ("plain", "audit"):
        _write(kind, f"disclosureorder:COSTS-{kind}-warm", 100)
        best: tuple[float, float, float] | None = None
        for round_ in range(3):
            server, client, lsn = _backend_cpu(pid), time.process_time(), wal()
            _write(kind, f"disclosureorder:COSTS-{kind}-{round_}", count)
            client, lsn = time.process_time() - client, wal() - lsn
            time.sleep(0.05)  # the backend's counters lag a tick
            after = _backend_cpu(pid)
            used = (client, (after - server) if server is not None and after is not None else -1.0, lsn)
            if best is None or used[0] + max(used[1], 0) < best[0] + max(best[1], 0):
                best = used
        assert best is not None
        server_us = f"{best[1] / count * 1e6:6.0f} µs" if best[1] >= 0 else "   n/a   "
        print(
            f"{kind:>5}: client CPU {best[0] / count * 1e6:6.0f} µs   server CPU {server_us}"
            f"   WAL {best[2] / count:6.0f} B"
        )


# --- 2. bulk load, verify ------------------------------------------------------------------------


def bulk_load(total: int) -> tuple[list[bytes], float]:
    """COPY ``total`` precomputed events (chained per stream); returns their canonical bytes and
    (the method of earlier figures) the raw hashing seconds of one pass over them (SHA-256 and hex
    digest of each), stream by stream, while the load ran."""
    from workflow.audit.canonical import GENESIS_HASH, event_bytes

    streams = max(1, total // PER_STREAM)
    base = dt.datetime(2025, 3, 20, 8, 0, tzinfo=dt.UTC)
    sha256 = hashlib.sha256
    during_load = 0.0
    every_blob: list[bytes] = []
    heads = []
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY workflow_auditevent (stream, seq, occurred_at, actor, actor_role, action, object_ref,"
            " data_json, prev_hash, hash) FROM STDIN"
        ) as copy:
            made = 0
            for s in range(streams):
                stream = f"disclosureorder:DO-1403-{s:06d}"
                prev = GENESIS_HASH
                count = min(PER_STREAM, total - made)
                blobs, rows = [], []
                for seq in range(1, count + 1):
                    moment = base + dt.timedelta(seconds=made)
                    when = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                    actor, action = f"user:{seq % 7 + 1}", ("order.viewed" if seq % 3 else "order.updated")
                    data = f'{{"state":"scoping","version":{seq}}}'
                    blob = event_bytes(
                        stream=stream,
                        seq=seq,
                        occurred_at=when,
                        actor=actor,
                        actor_role="legal_officer",
                        action=action,
                        object_ref=stream,
                        data_json=data,
                        prev_hash=prev,
                    )
                    digest = sha256(blob).hexdigest()
                    blobs.append(blob)
                    rows.append(
                        (stream, seq, moment, actor, "legal_officer", action, stream, data, prev, digest)
                    )
                    prev = digest
                started = time.perf_counter()
                for blob in blobs:
                    sha256(blob).hexdigest()
                during_load += time.perf_counter() - started
                every_blob += blobs
                for row in rows:
                    copy.write_row(row)
                heads.append((stream, count, prev, base))
                made += count
        with cur.copy(
            "COPY workflow_auditstreamhead (stream, seq, hash, updated_at, checkpointed_seq) FROM STDIN"
        ) as copy:
            for stream, seq, digest, moment in heads:
                copy.write_row((stream, seq, digest, moment, 0))
        conn.commit()
        cur.execute("ANALYZE workflow_auditevent")
    return every_blob, during_load


def raw_hashing(blobs: list[bytes]) -> float:
    """Seconds of one pass of SHA-256 and hex digest over every event's canonical bytes."""
    sha256 = hashlib.sha256
    started = time.perf_counter()
    for blob in blobs:
        sha256(blob).hexdigest()
    return time.perf_counter() - started


def bench_verify() -> float:
    """``verify_chains`` as ``verify_audit`` runs it by default (``AUDIT_VERIFY_PROCESSES``, unless
    set "auto"), and in one process or two, whichever the default was not, for information; each
    and the raw hashing best of three interleaved rounds (the machine is shared: a phase measured
    apart from the others mostly measures its own neighbours)."""
    from django.conf import settings

    from workflow.audit.verify import _rows, verify_chains

    print(f"\n== verify_audit over {EVENTS:,} events ({EVENTS // PER_STREAM:,} streams)")
    started = time.perf_counter()
    blobs, during_load = bulk_load(EVENTS)
    print(f"bulk load (COPY of precomputed rows): {time.perf_counter() - started:.1f} s")

    def verification(processes: int | None) -> tuple[float, int]:
        """Seconds of one run, and how many processes ran (``processes`` None: the default)."""
        started = time.perf_counter()
        report = verify_chains(processes=processes)
        elapsed = time.perf_counter() - started
        assert report.intact, report.breaks[:3]
        assert report.events >= EVENTS
        return elapsed, report.processes

    reading = float("inf")
    for _round in range(3):
        started = time.perf_counter()
        read = sum(len(batch) for batch in _rows(None, None))
        reading = min(reading, time.perf_counter() - started)
    hashing = elapsed = elapsed_other = float("inf")
    used: set[int] = set()
    for _round in range(3):
        hashing = min(hashing, raw_hashing(blobs))
        seconds, default = verification(None)
        elapsed, other = min(elapsed, seconds), 2 if default == 1 else 1
        used.add(default)
        elapsed_other = min(elapsed_other, verification(other)[0])
    assert len(used) == 1, used
    ours, raw = EVENTS / elapsed, EVENTS / hashing
    setting = "auto" if settings.AUDIT_VERIFY_PROCESSES is None else settings.AUDIT_VERIFY_PROCESSES
    print(
        f"verify (the default, AUDIT_VERIFY_PROCESSES={setting}: {default} process{'es' * (default > 1)}): "
        f"{ours:11,.0f} events/s ({elapsed:.2f} s)   raw SHA-256 of the same bytes (one process) "
        f"{raw:11,.0f}/s ({hashing:.2f} s)   ratio {ours / raw:6.1%}   (target >= 30%)"
    )
    print(
        f"(against one hashing pass during the bulk load, the method of earlier figures: "
        f"{EVENTS / during_load:,.0f}/s ({during_load:.2f} s), ratio {ours * during_load / EVENTS:.1%})"
    )
    print(
        f"(ceiling: only reading the rows from PostgreSQL, one process, no hashing: "
        f"{read / reading:,.0f} events/s, {read / reading / raw:.1%} of raw hashing)"
    )
    print(
        f"verify ({other} process{'es' * (other > 1)}, AUDIT_VERIFY_PROCESSES={other}, for information): "
        f"{EVENTS / elapsed_other:11,.0f} events/s ({elapsed_other:.2f} s)   "
        f"ratio {EVENTS / elapsed_other / raw:6.1%}"
    )
    return hashing


# --- 3. checkpoints and proofs -------------------------------------------------------------------


def bench_checkpoints(event_hashing: float) -> None:
    from django.conf import settings

    from workflow.audit import record
    from workflow.audit.checkpoint import make_checkpoint
    from workflow.audit.evidence import export_order
    from workflow.audit.merkle import MerkleTree, leaf_hash
    from workflow.keys import ensure_demo_signing_material
    from workflow.models import AuditEvent

    ensure_demo_signing_material()
    settings.AUDIT_WITNESS_DIR = SCRATCH / "witness"
    print(f"\n== checkpoints over {EVENTS:,} events")
    digests = [bytes.fromhex(h) for h in AuditEvent.objects.values_list("hash", flat=True).iterator(100_000)]
    started = time.perf_counter()
    for digest in digests:
        hashlib.sha256(digest).digest()
    raw_leaves = time.perf_counter() - started
    started = time.perf_counter()
    checkpoint = make_checkpoint()
    elapsed = time.perf_counter() - started
    assert checkpoint is not None
    print(
        f"first checkpoint (all {checkpoint.tree_size:,} events): {elapsed:.2f} s   raw SHA-256 of the same "
        f"leaf bytes {raw_leaves:.2f} s (ratio {raw_leaves / elapsed:.1%}); of the events' canonical bytes "
        f"{event_hashing:.2f} s (ratio {event_hashing / elapsed:.1%})"
    )
    for i in range(1000):
        record("order.viewed", actor=None, stream=f"disclosureorder:DO-1403-{i:06d}", data={"i": i})
    started = time.perf_counter()
    second = make_checkpoint()
    assert second is not None
    print(
        f"next checkpoint (1,000 new events, {second.tree_size:,} in the log): "
        f"{time.perf_counter() - started:.2f} s"
    )
    tree = MerkleTree([leaf_hash(d) for d in digests])
    size = tree.size
    inclusion = tree.inclusion_proof(size // 3, size)
    consistency = tree.consistency_proof(size // 2, size)
    print(
        f"inclusion proof at {size:,} leaves: {len(inclusion)} hashes = {32 * len(inclusion)} bytes; "
        f"consistency proof {size // 2:,} -> {size:,}: {len(consistency)} hashes = "
        f"{32 * len(consistency)} bytes"
    )
    started = time.perf_counter()
    bundle = export_order("DO-1403-000001")
    print(
        f"evidence bundle of one order ({PER_STREAM + 1} events): {len(bundle):,} bytes, "
        f"exported in {time.perf_counter() - started:.2f} s (rebuilds the {second.tree_size:,}-leaf tree)"
    )


def main() -> None:
    only = os.environ.get("BENCH_ONLY", "appends,verify").split(",")
    setup_database()
    try:
        if "appends" in only:
            bench_appends()
        if "costs" in only:
            bench_costs()
        if "verify" in only:
            hashing = bench_verify()
            bench_checkpoints(hashing)
    finally:
        from django.db import connections

        connections.close_all()
        admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
