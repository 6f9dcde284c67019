"""Pages of the evidence log (the JSON API is in ``api.py``)."""

from django.urls import path

from greenledger.evidence import views

app_name = "evidence"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("checkpoint/", views.checkpoint, name="checkpoint"),
]
