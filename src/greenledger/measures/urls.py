from django.urls import include, path

from . import views

app_name = "measures"

urlpatterns = [
    path("", views.home, name="home"),
    path("catalogue/", views.MeasureListView.as_view(), name="measure_list"),
    path("catalogue/new/", views.measure_edit, name="measure_create"),
    path("catalogue/excel/", views.catalogue_import, name="catalogue_import"),
    path("catalogue/<int:pk>/", views.measure_detail, name="measure_detail"),
    path("catalogue/<int:pk>/edit/", views.measure_edit, name="measure_edit"),
    path("catalogue/<int:measure_pk>/record/", views.record_create, name="record_create"),
    path("catalogue/<int:measure_pk>/done/", views.one_tap, name="one_tap"),
    path("records/", views.RecordListView.as_view(), name="record_list"),
    path("records/views/", views.save_view, name="save_view"),
    path("records/<uuid:pk>/", views.record_detail, name="record_detail"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<slug:kind>/<uuid:pk>/", views.decide, name="decide"),
    path("flags/<int:pk>/resolve/", views.resolve_flag, name="resolve_flag"),
    path("anomalies/", views.AnomalyListView.as_view(), name="anomaly_list"),
    path("anomalies/new/", views.anomaly_create, name="anomaly_create"),
    path("anomalies/<uuid:pk>/", views.anomaly_detail, name="anomaly_detail"),
    path("hourly/", views.hourly_board, name="hourly_board"),
    path("trace/", views.trace, name="trace"),
    path("contractors/", views.contractors, name="contractors"),
    path("", include("greenledger.measures.reporting_urls")),
]
