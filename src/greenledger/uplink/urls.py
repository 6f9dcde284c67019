"""Regulator uplink pages, mounted at /uplink/."""

from django.urls import path

from . import views

app_name = "uplink"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("platforms/", views.PlatformListView.as_view(), name="platform_list"),
    path("platforms/new/", views.platform_edit, name="platform_create"),
    path("platforms/<int:pk>/", views.platform_detail, name="platform_detail"),
    path("platforms/<int:pk>/edit/", views.platform_edit, name="platform_edit"),
    path("platforms/<int:pk>/reupload/", views.platform_reupload, name="platform_reupload"),
    path("outbox/", views.OutboxListView.as_view(), name="outbox"),
    path("outbox/<int:pk>/", views.item_detail, name="item_detail"),
    path("outbox/<int:pk>/resend/", views.item_resend, name="item_resend"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("instructions/", views.InstructionListView.as_view(), name="instructions"),
]
