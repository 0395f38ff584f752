from django.urls import path

from . import views

app_name = "public"

urlpatterns = [
    path("verify/", views.verify_package, name="verify_package"),
]
