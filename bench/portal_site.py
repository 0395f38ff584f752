"""The portal's URLs plus Django's bare "hello" view, the baseline of ``bench/portal.py``."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello")


urlpatterns = [
    path("bench/hello/", hello),
    path("", include("requests_portal.urls")),
]
