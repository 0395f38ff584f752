from django.urls import path

from . import intake, preservation, views

app_name = "officer"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("orders/new/", intake.intake, name="intake"),
    path("orders/<str:reference>/", views.order_page, name="order"),
    path("orders/<str:reference>/act/<str:action>/", views.act, name="act"),
    path("orders/<str:reference>/check/<str:item>/", views.record_check, name="check"),
    path("orders/<str:reference>/scope/", views.set_scope, name="scope"),
    path("orders/<str:reference>/match/", views.match, name="match"),
    path("orders/<str:reference>/scope/matches/", views.scope_matches, name="scope_matches"),
    path("orders/<str:reference>/progress/", views.progress, name="progress"),
    path("orders/<str:reference>/package/", views.package, name="package"),
    path("orders/<str:reference>/document/", views.document, name="document"),
    path("preservation/", preservation.preservation_list, name="preservation_list"),
    path("preservation/new/", preservation.preservation_intake, name="preservation_intake"),
    path("preservation/<str:reference>/", preservation.preservation_page, name="preservation"),
    path(
        "preservation/<str:reference>/act/<str:action>/",
        preservation.preservation_act,
        name="preservation_act",
    ),
]
