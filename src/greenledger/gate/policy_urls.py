"""Pages of the gate e-ledger: policy part (included by gate/urls.py under the "gate" namespace)."""

from django.urls import path

from . import policy_views as views

urlpatterns = [
    path("rulesets/", views.rule_sets, name="rulesets"),
    path("rulesets/reload/", views.reload_defaults, name="ruleset_reload"),
    path("rulesets/<int:pk>/", views.rule_set_detail, name="ruleset_detail"),
    path("rulesets/<int:pk>/import/", views.rule_set_import, name="ruleset_import"),
    path("rulesets/<int:set_pk>/rules/new/", views.rule_edit, name="rule_add"),
    path("rulesets/<int:set_pk>/rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("rulesets/<int:set_pk>/rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("settings/", views.gate_settings, name="settings"),
    path("alerts/", views.alert_page, name="alerts"),
]
