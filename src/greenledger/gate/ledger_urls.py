"""Pages of the gate e-ledger: console and ledger part (included by gate/urls.py under the "gate" namespace)."""

from django.urls import path

from . import console_views, ledger_views

urlpatterns = [
    path("console/", console_views.console, name="console"),
    path("console/feed/", console_views.console_feed, name="console_feed"),
    path("console/passages/<uuid:pk>/<str:kind>/", console_views.console_action, name="console_action"),
    path("console/register/", console_views.console_register, name="console_register"),
    path("console/manual-passage/", console_views.console_manual_passage, name="console_manual_passage"),
    path("passages/", ledger_views.PassageListView.as_view(), name="passage_list"),
    path("passages/<uuid:pk>/", ledger_views.passage_detail, name="passage_detail"),
    path("exceptions/", ledger_views.ExceptionListView.as_view(), name="exceptions"),
    path("usage/", ledger_views.UsageListView.as_view(), name="usage_list"),
    path("usage/new/", ledger_views.usage_create, name="usage_create"),
    path("transport/", ledger_views.TransportListView.as_view(), name="transport_list"),
    path("transport/new/", ledger_views.transport_create, name="transport_create"),
    path("transport/import/", ledger_views.transport_import, name="transport_import"),
    path("statistics/", ledger_views.statistics_page, name="statistics"),
    path("evidence-pack/", ledger_views.evidence_pack, name="evidence_pack"),
]
