"""Pages of the gate e-ledger: registry part (included by gate/urls.py under the "gate" namespace)."""

urlpatterns = []
