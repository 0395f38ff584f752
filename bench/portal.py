"""Officers' portal benchmark: dashboard and order-page latency with 100,000 orders in PostgreSQL.

It seeds ``bench_portal`` (once; ``--reseed`` starts again) with ``--orders`` disclosure orders over
two years — most closed, the recent ones spread over the open states, each with its identifiers,
scope, checks and a full audit stream — then starts gunicorn on loopback and drives it with
``--clients`` concurrent keep-alive clients for ``--seconds`` per page:

- Django's bare "hello" view (same middleware), the baseline measured in this run;
- the dashboard (queue, my tasks, counts by state, charts) as a signed-in, TOTP-verified officer;
- order pages of 300 random orders (open and closed).

While the pages are measured, an officer records a checklist item every ``--write-every`` seconds
(on an order of the sampled pages when one is being verified, else on any): each write is a
real service call, audited, and makes the dashboard and that order's page render again. The
pages are cached whole while nothing they show changes (``requests_portal.officer.page_cache``);
the run prints how many requests each page served from the cache. The server runs as production
does: DEBUG off, the shared Redis cache (``--cache-url``), gunicorn from ``gunicorn.conf.py``.

It prints median and p95 per page and the p95 ratio to the hello view. Targets: p95 ≤ 100 ms and
≤ 5× hello. The pages are measured in ``--rounds`` interleaved rounds (hello, dashboard, order
page, then the next round in a rotated order), so that a burst of load from elsewhere on a shared
machine falls on every page alike instead of on whichever page happened to run then. For
information only, it also measures the staff "floor": an empty page behind the same sign-in gate
(session, user, TOTP device, role), the least any signed-in page costs.

    .venv/bin/python bench/portal.py [--orders 100000] [--clients 20] [--seconds 20]
        [--workers N] [--threads N]
        [--rounds 3] [--db-url postgres://postgres@127.0.0.1:5432/bench_portal] [--reseed]
        [--cache-url redis://127.0.0.1:6379/7] [--write-every 1.0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=0, help="gunicorn.conf.py's default when 0")
    parser.add_argument("--threads", type=int, default=0, help="gunicorn.conf.py's default when 0")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8931)
    parser.add_argument("--db-url", default="postgres://postgres@127.0.0.1:5432/bench_portal")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument(
        "--seed-only",
        action="store_true",
        help="seed (and vacuum) the database, then stop (no server, no load)",
    )
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--write-every", type=float, default=1.0, help="seconds between writes (0: none)")
    return parser.parse_args()


ARGS = parse()
VAR = Path(tempfile.gettempdir()) / "bench_portal_var"
os.environ.update(
    {
        "DATABASE_URL": ARGS.db_url,
        "DJANGO_SETTINGS_MODULE": "bench.portal_settings",
        "PORTAL_VAR_DIR": str(VAR),
        # Persistent connections, as a production deployment runs them.
        "DATABASE_CONN_MAX_AGE": "600",
        "SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
        # The cache every web worker shares (sessions, the sign-in gate's state, rendered pages).
        "CACHE_URL": ARGS.cache_url,
    }
)


def ensure_pg_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://", 1) + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if ARGS.reseed:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


ensure_pg_database(ARGS.db_url)

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.portal_site import verified_session  # noqa: E402
from requests_portal.accounts.totp import ensure_totp_device  # noqa: E402
from requests_portal.models import User  # noqa: E402
from workflow.choices import DataCategory, IdentifierKind, InstrumentType, NoticeRule, VerificationItem  # noqa: E402
from workflow.identity import national_id_check_digit  # noqa: E402
from workflow.models import (  # noqa: E402
    Authority,
    AuthorityContact,
    AuthorityInstrument,
    DisclosureOrder,
    DisclosureState,
    OrderIdentifier,
    ScopeItem,
    VerificationCheck,
)
from workflow.models.disclosure import new_reference  # noqa: E402

S = DisclosureState
OPEN_MIX = [
    (S.RECEIVED, 14),
    (S.VERIFYING, 18),
    (S.CLARIFICATION_REQUESTED, 6),
    (S.SCOPING, 16),
    (S.AWAITING_APPROVAL, 12),
    (S.EXPORTING, 3),
    (S.EXPORT_FAILED, 2),
    (S.PACKAGE_READY, 8),
    (S.RELEASED, 9),
    (S.DELIVERED, 12),
]
# The audited path to each state: (action, state entered), as the services record them.
PATH = [
    ("order.received", S.RECEIVED),
    ("order.verification_started", S.VERIFYING),
    ("order.check_recorded", None),
    ("order.check_recorded", None),
    ("order.check_recorded", None),
    ("order.check_recorded", None),
    ("order.verified", S.SCOPING),
    ("order.scope_set", None),
    ("order.scope_submitted", S.AWAITING_APPROVAL),
    ("order.scope_approved", S.EXPORTING),
    ("order.package_ready", S.PACKAGE_READY),
    ("order.released", S.RELEASED),
    ("order.delivered", S.DELIVERED),
    ("order.closed", S.CLOSED),
]
ORDER_OF_STATES = [s for _, s in PATH if s]


def events_until(state: str) -> list[str]:
    if state in (S.REJECTED, S.WITHDRAWN):
        return [
            "order.received",
            "order.verification_started",
            "order.rejected" if state == S.REJECTED else "order.withdrawn",
        ]
    if state == S.CLARIFICATION_REQUESTED:
        return ["order.received", "order.verification_started", "order.clarification_requested"]
    if state == S.EXPORT_FAILED:
        return [a for a, _ in PATH[:10]] + ["order.export_failed"]
    actions = []
    for action, entered in PATH:
        actions.append(action)
        if entered == state:
            break
    return actions


def national_id(n: int) -> str:
    first = f"{n % 10**9:09d}"
    return first + national_id_check_digit(first)


def seed(total: int) -> None:
    existing = DisclosureOrder.objects.count()
    if existing >= total:
        print(f"bench_portal already holds {existing:,} orders")
        return
    print(f"seeding {total:,} orders into bench_portal …", flush=True)
    started = time.perf_counter()
    rng = random.Random(42)
    officer = User.objects.get(username="bench-officer")
    approver = User.objects.get(username="bench-approver")
    authorities = list(Authority.objects.order_by("id"))
    for i in range(len(authorities), 30):
        authority = Authority.objects.create(
            name_fa=f"شعبه {i + 1} دادگاه عمومی تهران",
            name_en=f"Tehran General Court, Branch {i + 1}",
            kind="court",
            jurisdiction="Tehran",
        )
        AuthorityInstrument.objects.create(authority=authority, instrument=InstrumentType.COURT_ORDER)
        AuthorityContact.objects.create(
            authority=authority, channel="phone", value="+982100000000", source="directory"
        )
        authorities.append(authority)
    today = timezone.localdate()
    now = timezone.now()
    categories = [DataCategory.IDENTITY, DataCategory.CONTACT, DataCategory.ORDER]
    batch = 5000
    for start in range(existing, total, batch):
        orders = []
        for n in range(start, min(start + batch, total)):
            age = rng.randint(0, 729)
            received = today - dt.timedelta(days=age)
            if age > 45:
                state = rng.choices([S.CLOSED, S.REJECTED, S.WITHDRAWN], weights=[90, 5, 5])[0]
            else:
                state = rng.choices([s for s, _ in OPEN_MIX], weights=[w for _, w in OPEN_MIX])[0]
            past_verify = state in ORDER_OF_STATES and ORDER_OF_STATES.index(state) >= ORDER_OF_STATES.index(
                S.SCOPING
            )
            past_scope = state == S.EXPORT_FAILED or (
                state in ORDER_OF_STATES
                and ORDER_OF_STATES.index(state) >= ORDER_OF_STATES.index(S.AWAITING_APPROVAL)
            )
            past_approve = past_scope and state != S.AWAITING_APPROVAL
            orders.append(
                DisclosureOrder(
                    reference=new_reference("DO"),
                    authority=authorities[n % len(authorities)],
                    instrument=InstrumentType.COURT_ORDER,
                    authority_reference=f"{9000 + n % 1000}-{1400 + n % 5}-{n}",
                    issued_on=received - dt.timedelta(days=2),
                    received_on=received,
                    due_on=received + dt.timedelta(days=10),
                    original_due_on=received + dt.timedelta(days=10),
                    categories_requested=categories,
                    requested_from=dt.date(2023, 1, 1),
                    requested_to=dt.date(2024, 12, 31),
                    emergency=rng.random() < 0.02,
                    notice_rule=NoticeRule.NOTIFY,
                    language="fa",
                    state=state,
                    version=len(events_until(state)),
                    created_by=officer,
                    verified_by=officer if past_verify or past_scope else None,
                    scoped_by=officer if past_scope else None,
                    scope_approved_by=approver if past_approve else None,
                    scope_revision=1 if past_approve else 0,
                    outcome="fulfilled" if state == S.CLOSED else "",
                )
            )
        with transaction.atomic():
            created = DisclosureOrder.objects.bulk_create(orders, batch_size=batch)
            OrderIdentifier.objects.bulk_create(
                [
                    OrderIdentifier(
                        order=o,
                        kind=IdentifierKind.NATIONAL_ID,
                        value=national_id(o.pk),
                        normalized=national_id(o.pk),
                    )
                    for o in created
                ]
                + [
                    OrderIdentifier(
                        order=o,
                        kind=IdentifierKind.MOBILE,
                        value=f"0912{o.pk % 10**7:07d}",
                        normalized=f"+98912{o.pk % 10**7:07d}",
                    )
                    for o in created
                    if o.pk % 2
                ],
                batch_size=batch,
            )
            checks, scope = [], []
            for o in created:
                if o.verified_by_id:
                    checks += [
                        VerificationCheck(
                            order=o,
                            item=item,
                            passed=True,
                            note="Art. 104",
                            checked_by=officer,
                            checked_at=now,
                        )
                        for item in VerificationItem.values
                    ]
                if o.scoped_by_id:
                    scope.append(
                        ScopeItem(
                            order=o,
                            customer_key=f"store:{o.pk}",
                            categories=categories[:2],
                            date_from=o.requested_from,
                            date_to=o.requested_to,
                            match_evidence=[{"kind": "national_id", "column": "national_id"}],
                            added_by=officer,
                        )
                    )
            VerificationCheck.objects.bulk_create(checks, batch_size=batch)
            ScopeItem.objects.bulk_create(scope, batch_size=batch)
            copy_audit_events(created, officer, approver)
        print(f"  {min(start + batch, total):,} orders ({time.perf_counter() - started:.0f} s)", flush=True)
    ensure_stream_heads()
    # What autovacuum would have done after a bulk load: the visibility map set (index-only scans
    # read no heap) and the statistics gathered. The shared server runs with autovacuum off.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def copy_audit_events(orders: list[DisclosureOrder], officer: User, approver: User) -> None:
    """Each order's stream, as the services would have written it (hashes are placeholders: the
    benchmark reads the trail, it does not verify it). Nothing else may use the connection while
    COPY runs, so the actors' roles are read first."""
    roles = {officer.pk: officer.role or "", approver.pk: approver.role or ""}
    with (
        connection.cursor() as cursor,
        cursor.copy(
            "COPY workflow_auditevent (stream, seq, occurred_at, actor, actor_role, action, object_ref,"
            " data_json,"
            " prev_hash, hash) FROM STDIN"
        ) as copy,
    ):
        for order in orders:
            at = dt.datetime.combine(order.received_on, dt.time(9), tzinfo=dt.UTC)
            stream = f"disclosureorder:{order.reference}"
            prev = "0" * 64
            for seq, action in enumerate(events_until(order.state), start=1):
                at += dt.timedelta(hours=random.randint(1, 30))
                actor = approver if action in ("order.scope_approved", "order.released") else officer
                digest = hashlib.sha256(f"{stream}{seq}{secrets.token_hex(4)}".encode()).hexdigest()
                copy.write_row(
                    (stream, seq, at, f"user:{actor.pk}", roles[actor.pk], action, stream, "{}", prev, digest)
                )
                prev = digest


def ensure_stream_heads() -> None:
    """The head of each copied stream, as appends leave it (the writes during the run append)."""
    from workflow.models import AuditStreamHead

    if (
        AuditStreamHead.objects.filter(stream__startswith="disclosureorder:").count()
        >= DisclosureOrder.objects.count()
    ):
        return
    heads, events = AuditStreamHead._meta.db_table, "workflow_auditevent"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {heads} (stream, seq, hash, updated_at, checkpointed_seq)"
            f" SELECT DISTINCT ON (stream) stream, seq, hash, occurred_at, 0 FROM {events}"
            " ORDER BY stream, seq DESC ON CONFLICT (stream) DO NOTHING"
        )


def staff(username: str, role: str) -> User:
    user, _ = User.objects.get_or_create(username=username, defaults={"first_name": username})
    user.groups.set([Group.objects.get(name=role)])
    ensure_totp_device(user)
    return user


def start_server() -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--config=gunicorn.conf.py",
        "requests_portal.wsgi",
        f"--chdir={ROOT}",
    ]
    env = os.environ.copy()
    env["WEB_BIND"] = f"127.0.0.1:{ARGS.port}"
    if ARGS.workers:
        env["WEB_CONCURRENCY"] = str(ARGS.workers)
    if ARGS.threads:
        env["WEB_THREADS"] = str(ARGS.threads)
    server = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", ARGS.port, timeout=2)
            conn.request("GET", "/bench/hello/")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("gunicorn did not start")


def load(paths: list[str], cookie: str, seconds: float) -> tuple[list[float], int, int]:
    """``--clients`` clients, each requesting random paths back to back; latencies in ms, how
    many responses came from the page cache, and how many were served a page another request was
    rendering (after waiting for it)."""
    latencies: list[float] = []
    hits = [0]
    waits = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    errors: list[str] = []

    def client(seed_value: int) -> None:
        rng = random.Random(seed_value)
        mine: list[float] = []
        conn = http.client.HTTPConnection("127.0.0.1", ARGS.port, timeout=30)
        while time.monotonic() < stop:
            path = rng.choice(paths)
            begun = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie, "Accept-Language": "fa"})
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", ARGS.port, timeout=30)
                continue
            mine.append((time.perf_counter() - begun) * 1000)
            served = response.getheader("X-Portal-Cache")
            if served in ("hit", "wait"):
                with lock:
                    (hits if served == "hit" else waits)[0] += 1
            if response.status != 200:
                errors.append(f"{path}: {response.status}")
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", ARGS.port, timeout=30)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(ARGS.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, e.g. {errors[:3]}")
    return latencies, hits[0], waits[0]


def browser_cookies(session_key: str) -> str:
    """The cookies a browser holds once it has shown a page: the session and the CSRF cookie the
    first page set (a page's forms carry tokens for it)."""
    conn = http.client.HTTPConnection("127.0.0.1", ARGS.port, timeout=30)
    conn.request("GET", "/officer/", headers={"Cookie": f"sessionid={session_key}"})
    response = conn.getresponse()
    response.read()
    csrf = next(
        c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie") or [] if c.startswith("csrftoken=")
    )
    return f"sessionid={session_key}; {csrf}"


class Writer(threading.Thread):
    """An officer recording a checklist item every ``--write-every`` seconds, through the service
    (audited, in its transaction): what makes cached pages render again."""

    def __init__(self, officer: User, sample: list[str]) -> None:
        super().__init__(daemon=True)
        self.officer = officer
        verifying = DisclosureOrder.objects.filter(state=S.VERIFYING)
        self.measured = list(verifying.filter(reference__in=sample).values_list("pk", flat=True))
        self.others = list(verifying.exclude(reference__in=sample).values_list("pk", flat=True)[:200])
        self.stopping = threading.Event()
        self.writes = 0

    def run(self) -> None:
        from workflow.choices import VerificationItem
        from workflow.services import disclosure as svc

        rng = random.Random(11)
        try:
            while not self.stopping.wait(ARGS.write_every):
                # Half the writes on an order whose page is measured, half on any other.
                pk = rng.choice(self.measured if self.measured and rng.random() < 0.5 else self.others)
                order = DisclosureOrder.objects.get(pk=pk)
                svc.record_check(
                    order,
                    actor=self.officer,
                    item=VerificationItem.SCOPE_WITHIN_INSTRUMENT,
                    passed=bool(self.writes % 2),
                    note="bench",
                    expected_version=order.version,
                )
                self.writes += 1
        finally:
            connection.close()


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def summary(name: str, latencies: list[float], seconds: float) -> tuple[float, float]:
    ordered = sorted(latencies)
    median = statistics.median(ordered)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(
        f"{name:<12} {len(ordered):>7,} requests  {len(ordered) / seconds:>7.0f}/s"
        f"  median {median:7.1f} ms  p95 {p95:7.1f} ms"
    )
    return median, p95


def main() -> None:
    call_command("migrate", verbosity=0)
    officer = staff("bench-officer", "legal_officer")
    staff("bench-approver", "approver")
    seed(ARGS.orders)
    ensure_stream_heads()
    if ARGS.seed_only:
        return
    # What Celery beat does every PORTAL_CHART_REFRESH_MINUTES in production (its cost is printed).
    from workflow.stats import refresh_state_dwell

    began = time.perf_counter()
    refresh_state_dwell()
    print(f"time-per-state summary refreshed in {time.perf_counter() - began:.1f} s (the beat task's cost)")
    total = DisclosureOrder.objects.count()
    rng = random.Random(7)
    ids = list(DisclosureOrder.objects.values_list("reference", flat=True)[: 10**6])
    sample = rng.sample(ids, 300)
    session_key = verified_session(officer)
    server = start_server()
    writer = Writer(officer, sample)
    try:
        cookie = browser_cookies(session_key)
        # Warm-up: every worker loads the code, opens its connection and fills its chart cache.
        load(["/bench/hello/", "/officer/", *[f"/officer/orders/{r}/" for r in sample[:20]]], cookie, 5)
        print(
            f"{total:,} orders in PostgreSQL; {ARGS.clients} concurrent clients;"
            f" gunicorn.conf.py (WEB_CONCURRENCY={ARGS.workers or 'default'},"
            f" WEB_THREADS={ARGS.threads or 'default'}); "
            f"{ARGS.seconds:g} s per page in {ARGS.rounds} interleaved rounds; load average {load_average()}"
        )
        pages = {
            "hello": ["/bench/hello/"],
            "dashboard": ["/officer/"],
            "order page": [f"/officer/orders/{r}/" for r in sample],
            "staff floor": ["/bench/staff-hello/"],
        }
        latencies: dict[str, list[float]] = {name: [] for name in pages}
        hits = dict.fromkeys(pages, 0)
        waits = dict.fromkeys(pages, 0)
        names = list(pages)
        if ARGS.write_every > 0:
            writer.start()
        began = time.monotonic()
        for round_number in range(ARGS.rounds):
            for name in names[round_number % len(names) :] + names[: round_number % len(names)]:
                measured, cached, waited = load(pages[name], cookie, ARGS.seconds / ARGS.rounds)
                latencies[name] += measured
                hits[name] += cached
                waits[name] += waited
        writer.stopping.set()
        elapsed = time.monotonic() - began
        hello = summary("hello", latencies["hello"], ARGS.seconds)
        dashboard = summary("dashboard", latencies["dashboard"], ARGS.seconds)
        order = summary("order page", latencies["order page"], ARGS.seconds)
        floor = summary("staff floor", latencies["staff floor"], ARGS.seconds)
        for name in ("dashboard", "order page"):
            print(
                f"{name:<12} served from the page cache: {hits[name] / len(latencies[name]):.1%};"
                f" after waiting for another request's render: {waits[name] / len(latencies[name]):.1%}"
            )
        print(
            f"writes during the run: {writer.writes} checklist items ({writer.writes / elapsed:.2f}/s; "
            f"half of them on the {len(writer.measured)} measured order pages being verified)"
        )
        print(f"load average after the run: {load_average()}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    print()
    print(
        f"(information) staff floor p95 {floor[1]:6.1f} ms = {floor[1] / hello[1]:4.1f}× hello's: the sign-in"
        " gate alone, before a page reads or renders anything"
    )
    for name, (median, p95) in (("dashboard", dashboard), ("order page", order)):
        ratio = p95 / hello[1]
        verdict = "meets" if p95 <= 100 and ratio <= 5 else "MISSES"
        print(
            f"{name:<12} p95 {p95:6.1f} ms = {ratio:4.1f}× hello's p95 ({hello[1]:.1f} ms); median ratio "
            f"{median / hello[0]:4.1f}×  → {verdict} the target (p95 ≤ 100 ms and ≤ 5×)"
        )


if __name__ == "__main__":
    main()
