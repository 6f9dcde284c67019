"""URLs of the measure ledger's reporting pages, included inside the ``measures`` namespace."""

from django.urls import path

from . import reporting_views

urlpatterns = [
    path("compliance/", reporting_views.compliance, name="compliance"),
    path("annual/", reporting_views.annual_summary, name="annual_summary"),
    path("dashboard/", reporting_views.dashboard, name="dashboard"),
]
