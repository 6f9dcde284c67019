"""Pages of the gate e-ledger: ledger part (included by gate/urls.py under the "gate" namespace)."""

urlpatterns = []
