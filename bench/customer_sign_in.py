"""Sign-in timing shape: does asking a code for a registered identifier take measurably longer
(or shorter) than for one the store does not know? An answer that differs in time would tell an
attacker which addresses are customers (account enumeration).

It seeds a small demo store, then times the sign-in page's POST (through Django's test client, so
the whole view runs: lookup through the data map, code row, audit event, enqueue on commit) for
registered and unknown mobiles, interleaved, and prints the medians and their ratio (target:
within ±10% of 1.0). The code is delivered by the Celery task afterwards, outside the response.

    .venv/bin/python bench/customer_sign_in.py [--rounds 200] [--customers 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
_tmp = tempfile.mkdtemp(prefix="bench-sign-in-")
os.environ["PORTAL_VAR_DIR"] = _tmp
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "requests_portal.settings")
os.environ["DATABASE_URL"] = f"sqlite:///{_tmp}/portal.sqlite3"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from requests_portal.celery import app as celery_app  # noqa: E402
from workflow.store import seed_store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--customers", type=int, default=200)
    args = parser.parse_args()
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.CUSTOMER_SIGN_IN = {
        **settings.CUSTOMER_SIGN_IN,
        "codes_per_identifier": 10**6,
        "codes_per_ip": 10**6,
    }
    # The send happens in the task; keep it off the broker so the bench measures the response.
    celery_app.conf.task_always_eager = False
    settings.CELERY_BROKER_URL = "memory://"
    celery_app.conf.broker_url = "memory://"
    call_command("migrate", verbosity=0)
    store = Path(_tmp) / "store"
    seed_store(
        database_url=f"sqlite:///{store}/store.sqlite3",
        datamap_path=store / "datamap.yaml",
        customers=args.customers,
        seed=1403,
    )
    settings.STORE_DATAMAPS = [str(store / "datamap.yaml")]
    client = Client()
    timings: dict[str, list[float]] = {"registered": [], "unknown": []}
    identifiers = {"registered": "09121234567", "unknown": "09129999999"}
    for _warm in range(10):
        for kind in identifiers:
            client.post("/me/sign-in/", {"identifier": identifiers[kind]})
    for _round in range(args.rounds):
        for kind in ("registered", "unknown") if _round % 2 else ("unknown", "registered"):
            start = time.perf_counter()
            response = client.post("/me/sign-in/", {"identifier": identifiers[kind]})
            timings[kind].append(time.perf_counter() - start)
            assert response.status_code == 302, response.status_code
    registered = statistics.median(timings["registered"]) * 1000
    unknown = statistics.median(timings["unknown"]) * 1000
    print(f"rounds: {args.rounds}, store customers: {args.customers}")
    print(f"median response, registered mobile: {registered:.2f} ms")
    print(f"median response, unknown mobile:    {unknown:.2f} ms")
    print(f"ratio registered / unknown: {registered / unknown:.3f} (target 0.90–1.10)")


if __name__ == "__main__":
    main()
