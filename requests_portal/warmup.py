"""What a web process would otherwise load on its first requests, loaded before it serves any.

gunicorn imports the application once, in its master, and forks every worker from it
(``preload_app`` in ``gunicorn.conf.py``): what is loaded here is loaded once for all workers,
and a worker recycled after ``max_requests`` starts with it instead of importing Django again
(~1.2 s of CPU on the project's machine, taken from the requests the other workers serve) and
then compiling templates and reading catalogs during its first page (~70 ms more). Loaded: every
template under ``templates/`` (the cached loader keeps them compiled), the translation catalogs
of every language, the URL resolver, the SQL of the order page's reads (``officer.compiled``;
a worker's first order page compiled them otherwise, ~7 ms).

Nothing here opens a connection: Django opens its database and cache connections on first use,
in each worker, so no socket opened before the fork is shared by the workers.
"""

from pathlib import Path

from django.conf import settings
from django.template import engines
from django.template.loader import get_template
from django.urls import reverse
from django.utils import translation


def project_templates() -> list[str]:
    """The names of the templates under the project's template directories."""
    names = []
    for engine in engines.all():
        for directory in map(Path, getattr(engine, "dirs", [])):
            names += [p.relative_to(directory).as_posix() for p in sorted(directory.rglob("*.html"))]
    return names


def warm() -> None:
    for name in project_templates():
        get_template(name)
    for language, _name in settings.LANGUAGES:
        with translation.override(language):  # reads the language's catalogs (Django's, the apps', ours)
            pass
    reverse("officer:dashboard")  # imports every URLconf and builds the resolver's tables
    from requests_portal.officer.order_page import compile_reads

    compile_reads()
