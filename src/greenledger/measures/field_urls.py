"""Field app URLs (mounted at ``/m/``): the service worker lives here so its scope is ``/m/``."""

from django.urls import path

from . import field_views as views

app_name = "field"

urlpatterns = [
    path("", views.my_work, name="home"),
    path("tag/<str:tag_id>/", views.tag_landing, name="tag"),
    path("measures/<int:pk>/record/", views.record_form, name="record"),
    path("measures/<int:pk>/complete/", views.complete, name="complete"),
    path("ping", views.ping, name="ping"),
    path("sw.js", views.service_worker, name="sw"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
]
