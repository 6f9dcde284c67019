"""Gate e-ledger pages, mounted at /gate/: registries, policies, the console, ledgers and reports."""

from . import ledger_urls, policy_urls, registry_urls

app_name = "gate"

urlpatterns = [*registry_urls.urlpatterns, *policy_urls.urlpatterns, *ledger_urls.urlpatterns]
