"""Roles (角色) as Django groups, and the permissions each role holds.

Group names are stable identifiers; the UI shows their translated labels. Each app that adds
permissions extends ``ROLE_PERMISSIONS`` for its own models and calls :func:`sync_roles` from a
data migration, so a fresh database always has the full role set.
"""

from django.utils.translation import gettext_lazy as _

ROLE_LABELS = {
    "system_admin": _("System admin"),
    "environmental_manager": _("Environmental manager"),
    "carbon_manager": _("Carbon manager"),
    "safety_manager": _("Safety manager"),
    "shift_leader": _("Shift leader"),
    "operator": _("Operator"),
    "gate_guard": _("Gate guard"),
    "contractor": _("Contractor"),
    "supplier": _("Supplier"),
    "auditor": _("Auditor (read-only)"),
}

# Roles whose members see every site even without a site list on their person record.
ALL_SITE_ROLES = {"system_admin"}

ORG_VIEW = [
    "core.view_enterprise", "core.view_site", "core.view_workshop", "core.view_equipment", "core.view_person",
]
ORG_EDIT = [
    f"core.{action}_{model}"
    for model in ("enterprise", "site", "workshop", "equipment", "person", "tag", "apitoken")
    for action in ("add", "change", "delete", "view")
]
EVIDENCE_VIEW = ["evidence.view_leaf", "evidence.view_checkpoint"]
ATTACH = ["core.view_attachment", "core.add_attachment"]
INTERNAL = ["core.view_dashboard", *ORG_VIEW, *ATTACH]

ROLE_PERMISSIONS = {
    "system_admin": [
        "core.view_dashboard", *ORG_EDIT, *ATTACH, *EVIDENCE_VIEW, "evidence.add_checkpoint",
        "core.view_auditentry", "auth.view_user", "auth.add_user", "auth.change_user", "auth.view_group",
    ],
    "environmental_manager": [*INTERNAL, *EVIDENCE_VIEW, "evidence.add_checkpoint", "core.view_auditentry"],
    "carbon_manager": [*INTERNAL, *EVIDENCE_VIEW, "evidence.add_checkpoint", "core.view_auditentry"],
    "safety_manager": [*INTERNAL, *EVIDENCE_VIEW, "core.view_auditentry"],
    "shift_leader": [*INTERNAL],
    "operator": [*INTERNAL],
    "gate_guard": [*INTERNAL],
    "contractor": [*ATTACH],
    "supplier": [],
    "auditor": ["core.view_dashboard", *ORG_VIEW, "core.view_attachment", "core.view_apitoken",
                *EVIDENCE_VIEW, "core.view_auditentry"],
}


def sync_roles(apps, role_permissions=None):
    """Create the role groups and grant them their permissions (never removes grants made by hand)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    role_permissions = ROLE_PERMISSIONS if role_permissions is None else role_permissions
    for role in ROLE_LABELS:
        group, _created = Group.objects.get_or_create(name=role)
        for perm in role_permissions.get(role, []):
            app_label, codename = perm.split(".", 1)
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is None:
                raise LookupError(f"permission {perm} does not exist (role {role})")
            group.permissions.add(permission)


def ensure_permissions(*app_labels):
    """Create the permissions of ``app_labels`` now; Django otherwise makes them only after migrate."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    for label in app_labels:
        config = global_apps.get_app_config(label)
        create_contenttypes(config, verbosity=0)
        create_permissions(config, verbosity=0)


def role_label(name):
    return ROLE_LABELS.get(name, name)


def app_role_permissions():
    """Every installed GreenLedger app's ``*_ROLE_PERMISSIONS`` dicts, from its ``roles`` module."""
    from .extensions import app_modules

    return [(config.label, value) for config, module in app_modules("roles") for name, value in vars(module).items()
            if name.endswith("_ROLE_PERMISSIONS") and isinstance(value, dict)]
