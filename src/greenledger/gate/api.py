"""Gate API (mounted at /api/gate/): registries, camera intake and alerts, the passage ledger."""

from ninja import Router

from .intake_api import router as intake_router
from .ledger_api import router as ledger_router
from .registry_api import router as registry_router

router = Router(tags=["gate"])
router.add_router("", registry_router)
router.add_router("", intake_router)
router.add_router("", ledger_router)
