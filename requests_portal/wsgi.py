import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "requests_portal.settings")
application = get_wsgi_application()

# Loaded before the first request: in gunicorn's master, once for every worker forked from it.
from requests_portal.warmup import warm  # noqa: E402

warm()
