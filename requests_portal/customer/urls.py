from django.urls import path

from . import views

app_name = "customer"

urlpatterns = [
    path("", views.ledger, name="ledger"),
    path("ledger.json", views.ledger_json, name="ledger_json"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/code/", views.enter_code, name="enter_code"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("requests/", views.my_requests, name="requests"),
    path("requests/new/", views.new_request, name="new_request"),
    path("requests/<str:reference>/", views.request_detail, name="request"),
    path("requests/<str:reference>/package/", views.download_package, name="package"),
]
