"""Pages of carbon accounting, mounted at /carbon/ (namespace ``carbon``)."""

from django.urls import path

from . import views

app_name = "carbon"

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("factors/", views.FactorListView.as_view(), name="factor_list"),
    path("factors/new/", views.factor_create, name="factor_create"),
    path("factors/<int:pk>/", views.factor_detail, name="factor_detail"),
    path("activity/", views.ActivityListView.as_view(), name="activity_list"),
    path("activity/new/", views.activity_create, name="activity_create"),
    path("activity/import/", views.activity_import, name="activity_import"),
    path("output/", views.OutputListView.as_view(), name="output_list"),
    path("output/new/", views.output_create, name="output_create"),
    path("output/import/", views.output_import, name="output_import"),
    path("certificates/", views.CertificateListView.as_view(), name="certificate_list"),
    path("certificates/new/", views.certificate_create, name="certificate_create"),
    path("report/", views.report, name="report"),
    path("report/<uuid:pk>/", views.issued_report, name="issued_report"),
    path("effects/", views.effect_list, name="effects"),
    path("effects/<int:measure_pk>/edit/", views.effect_edit, name="effect_edit"),
    path("anomalies/", views.anomaly_list, name="anomalies"),
    path("crosschecks/", views.crosscheck_list, name="crosschecks"),
]
