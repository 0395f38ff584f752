"""The portal's URLs plus Django's bare "hello" view, the baseline of ``bench/portal.py``, and the
same "hello" behind the staff sign-in gate (for information: the floor of every staff page)."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from requests_portal.accounts import staff_required


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello")


@staff_required()
def staff_hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello")


urlpatterns = [
    path("bench/hello/", hello),
    path("bench/staff-hello/", staff_hello),
    path("", include("requests_portal.urls")),
]
