from django.urls import path

from . import views

app_name = "core"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("coming/<slug:section>/", views.coming, name="coming"),
    path("sites/", views.SiteListView.as_view(), name="site_list"),
    path("sites/<int:pk>/", views.site_detail, name="site_detail"),
    path("equipment/", views.EquipmentListView.as_view(), name="equipment_list"),
    path("equipment/new/", views.equipment_edit, name="equipment_create"),
    path("equipment/import/", views.equipment_import, name="equipment_import"),
    path("equipment/<int:pk>/", views.equipment_detail, name="equipment_detail"),
    path("equipment/<int:pk>/edit/", views.equipment_edit, name="equipment_edit"),
    path("people/", views.PersonListView.as_view(), name="person_list"),
    path("tokens/", views.token_list, name="token_list"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/read-all/", views.notification_read_all, name="notification_read_all"),
    path("audit/", views.AuditListView.as_view(), name="audit_list"),
    path("tags/<slug:app_label>/<slug:model>/<str:pk>/", views.record_tags, name="record_tags"),
    path("attachments/<uuid:pk>/", views.attachment_download, name="attachment_download"),
]
