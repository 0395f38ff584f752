"""Every task the beat schedule sends is known to a worker that has just started."""

import json
import subprocess
import sys

from django.conf import settings

# A fresh interpreter, as a worker starts: the tests themselves import the task modules.
_REGISTERED = """
import django, json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "requests_portal.settings")
django.setup()
from requests_portal.celery import app
app.loader.import_default_modules()
print(json.dumps(sorted(app.tasks)))
"""


def test_a_fresh_worker_knows_every_task_the_beat_schedule_sends():
    done = subprocess.run(
        [sys.executable, "-c", _REGISTERED], capture_output=True, text=True, check=True, cwd=settings.BASE_DIR
    )
    registered = set(json.loads(done.stdout.strip().splitlines()[-1]))
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled - registered == set()
