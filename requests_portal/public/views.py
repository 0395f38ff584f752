from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from workflow.package.verify import verify_package_bytes

from .forms import VerifyPackageForm


@require_http_methods(["GET", "POST"])
def verify_package(request: HttpRequest) -> HttpResponse:
    """Anyone holding a package may check it: the answer reports only what the file itself
    holds (its package id, order reference and signer) and which check failed."""
    result = None
    form = VerifyPackageForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        result = verify_package_bytes(form.cleaned_data["package"])
    status = 200 if request.method == "GET" or (result is not None and result.ok) else 422
    return render(request, "public/verify.html", {"form": form, "result": result}, status=status)
