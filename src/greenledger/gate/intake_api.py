"""Gate API: intake part (mounted by gate/api.py at /api/gate/)."""

from ninja import Router

router = Router(tags=["gate"])
