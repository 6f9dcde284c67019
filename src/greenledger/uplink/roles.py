"""What each role may do with the regulator uplink (added to the role groups by a migration)."""

VIEW = ["uplink.view_platform", "uplink.view_outboxitem", "uplink.view_deliveryattempt", "uplink.view_uplinkreceipt",
        "uplink.view_inboundinstruction", "uplink.view_uplink_dashboard"]

UPLINK_ROLE_PERMISSIONS = {
    "system_admin": [*VIEW, "uplink.add_platform", "uplink.change_platform", "uplink.delete_platform"],
    "environmental_manager": [*VIEW, "uplink.manage_outbox", "uplink.change_outboxitem"],
    "auditor": VIEW,
}
