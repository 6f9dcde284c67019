from django.urls import path

from . import views

app_name = "telemetry"

urlpatterns = [
    path("", views.PointListView.as_view(), name="point_list"),
    path("points/new/", views.point_edit, name="point_create"),
    path("points/import/", views.point_import, name="point_import"),
    path("points/<int:pk>/", views.point_detail, name="point_detail"),
    path("points/<int:pk>/edit/", views.point_edit, name="point_edit"),
    path("quality/", views.quality_page, name="quality"),
    path("errors/", views.IntakeErrorListView.as_view(), name="error_list"),
    path("upload/", views.upload_page, name="upload"),
    path("energy/", views.energy, name="energy"),
    path("energy/live/", views.live_power, name="live_power"),
]
