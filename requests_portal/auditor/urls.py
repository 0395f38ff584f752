from django.urls import path

from . import views

app_name = "auditor"

urlpatterns = [
    path("", views.index, name="index"),
    path("trail/", views.trail, name="trail"),
    path("access/", views.access, name="access"),
    path("refusals/", views.refusals, name="refusals"),
    path("orders/<str:reference>/", views.order_timeline, name="order"),
    path("transparency/", views.transparency, name="transparency"),
    path("transparency.csv", views.transparency_csv, name="transparency_csv"),
]
