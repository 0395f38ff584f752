from django.urls import path

from . import views

app_name = "officer"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
