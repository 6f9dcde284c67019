"""Pages of the gate e-ledger: policy part (included by gate/urls.py under the "gate" namespace)."""

urlpatterns = []
