"""The legal officers' desk."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from requests_portal.accounts import staff_required
from requests_portal.roles import Role
from workflow.permissions import orders_visible_to

CASE_ROLES = (Role.LEGAL_OFFICER, Role.APPROVER)


@staff_required(*CASE_ROLES)
def dashboard(request: HttpRequest) -> HttpResponse:
    orders = orders_visible_to(request.user)[:50]
    return render(request, "officer/dashboard.html", {"orders": orders})
