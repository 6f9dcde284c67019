"""Gate API: ledger part (mounted by gate/api.py at /api/gate/)."""

from ninja import Router

router = Router(tags=["gate"])
