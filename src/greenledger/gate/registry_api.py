"""Gate API: registry part (mounted by gate/api.py at /api/gate/)."""

from ninja import Router

router = Router(tags=["gate"])
