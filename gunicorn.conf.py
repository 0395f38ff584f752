"""The production web server: ``gunicorn -c gunicorn.conf.py requests_portal.wsgi``.

A page is CPU work in Python (one core per process, whatever the threads), so the workers are
processes: ``WEB_CONCURRENCY`` of them, by default two per core plus one, so that a core
whose worker waits on the database or the cache has another to run. ``WEB_THREADS`` > 1
switches to threaded workers (keep-alive connections, more requests waiting on I/O at once);
on two cores they measured slower than 5 sync workers for the officer pages (bench/portal.py,
alternating runs: dashboard p95 211 and 368 ms against 106 and 134 ms).
"""

import gc
import multiprocessing
import os
from typing import Any

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", str(multiprocessing.cpu_count() * 2 + 1)))
threads = int(os.environ.get("WEB_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
keepalive = int(os.environ.get("WEB_KEEPALIVE_SECONDS", "5"))
timeout = int(os.environ.get("WEB_TIMEOUT_SECONDS", "60"))
# The application is imported once, in the master (``requests_portal.wsgi`` warms it:
# ``requests_portal.warmup``), and every worker is forked from it, so that a recycled worker starts
# in milliseconds instead of importing Django again beside the workers serving requests. New code
# therefore takes a restart of the master (``kill -HUP`` forks the old code again).
preload_app = True
# Recycle a worker now and then: memory a long-lived process accumulates is given back.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
accesslog = None  # request lines carry query strings, which may carry identifiers


def pre_fork(server: Any, worker: Any) -> None:
    """The master's objects (Django, the application, the warmed templates and catalogs) live as
    long as the worker: frozen, the worker's garbage collector leaves them out, so that a full
    collection walks only what the worker made (~75 ms → ~14 ms on the project's machine, a stall
    of whichever request was running) and the memory they sit on stays shared with the master."""
    gc.freeze()
