"""What each role may do with telemetry (added to the role groups by migration 0002).

Viewing points, readings, quality and the energy dashboard is for internal roles and the auditor
(not contractors or suppliers); uploading readings and managing points is for the system admin,
the carbon manager and the environmental manager.
"""

VIEW = ["telemetry.view_measuringpoint", "telemetry.view_reading", "telemetry.view_gap",
        "telemetry.view_intakeerror"]
MANAGE = [f"telemetry.{action}_measuringpoint" for action in ("add", "change", "delete")]
UPLOAD = ["telemetry.upload_readings"]

TELEMETRY_ROLE_PERMISSIONS = {
    "system_admin": [*VIEW, *MANAGE, *UPLOAD],
    "environmental_manager": [*VIEW, *MANAGE, *UPLOAD],
    "carbon_manager": [*VIEW, *MANAGE, *UPLOAD],
    "safety_manager": [*VIEW],
    "shift_leader": [*VIEW],
    "operator": [*VIEW],
    "gate_guard": [*VIEW],
    "contractor": [],
    "supplier": [],
    "auditor": [*VIEW],
}
