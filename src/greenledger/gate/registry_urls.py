"""Pages of the gate e-ledger: registry part (included by gate/urls.py under the "gate" namespace).

Each registry (``vehicle``, ``inplant``, ``machine``) has ``<key>_list``, ``<key>_add``,
``<key>_detail``, ``<key>_edit``, ``<key>_review``, ``<key>_document`` and ``<key>_import``.
"""

from django.urls import path

from . import registry_views as views

PREFIXES = {"vehicle": "vehicles", "inplant": "inplant", "machine": "machines"}
LIST_VIEWS = {"vehicle": views.VehicleListView, "inplant": views.InPlantListView, "machine": views.MachineListView}


def registry_patterns(key, prefix):
    fixed = {"key": key}
    return [
        path(f"{prefix}/", LIST_VIEWS[key].as_view(), name=f"{key}_list"),
        path(f"{prefix}/new/", views.registry_edit, fixed, name=f"{key}_add"),
        path(f"{prefix}/excel/", views.registry_import, fixed, name=f"{key}_import"),
        path(f"{prefix}/<int:pk>/", views.registry_detail, fixed, name=f"{key}_detail"),
        path(f"{prefix}/<int:pk>/edit/", views.registry_edit, fixed, name=f"{key}_edit"),
        path(f"{prefix}/<int:pk>/review/", views.registry_review, fixed, name=f"{key}_review"),
        path(f"{prefix}/<int:pk>/documents/", views.registry_document, fixed, name=f"{key}_document"),
    ]


urlpatterns = [
    *(pattern for key, prefix in PREFIXES.items() for pattern in registry_patterns(key, prefix)),
    path("carriers/", views.CarrierListView.as_view(), name="carrier_list"),
    path("carriers/new/", views.carrier_edit, name="carrier_add"),
    path("carriers/excel/", views.registry_import, {"key": "carrier"}, name="carrier_import"),
    path("carriers/<int:pk>/", views.carrier_detail, name="carrier_detail"),
    path("carriers/<int:pk>/edit/", views.carrier_edit, name="carrier_edit"),
    path("register/<uuid:key>/", views.carrier_register, name="carrier_register"),
    path("review/", views.review_queue, name="review_queue"),
    path("lists/", views.ListEntryListView.as_view(), name="list_entries"),
    path("lists/new/", views.list_entry_add, name="list_entry_add"),
    path("lists/excel/", views.list_import, name="list_import"),
    path("lists/<int:pk>/expire/", views.list_entry_expire, name="list_entry_expire"),
]
