from django.urls import path

from . import views

app_name = "officer_dsr"

urlpatterns = [
    path("", views.request_list, name="list"),
    path("<str:reference>/", views.request_detail, name="detail"),
    path("<str:reference>/<str:action>/", views.act, name="act"),
]
