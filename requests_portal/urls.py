from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from requests_portal.accounts.views import home

# The admin, like every staff page, wants both factors (password and TOTP).
admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("requests_portal.accounts.urls")),
    # Django's own (password change and reset); its login/logout paths are shadowed by ours above.
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("requests_portal.public.urls")),
    path("auditor/", include("requests_portal.auditor.urls")),
    path("officer/dsr/", include("requests_portal.officer_dsr.urls")),
    path("officer/", include("requests_portal.officer.urls")),
    path("me/", include("requests_portal.customer.urls")),
]
