"""How the ledger apps extend core: each may ship a ``demo``, ``dashboard``, ``roles`` or ``scheduled``
module (``scheduled.run(now)`` is a step of ``greenledger measures-scheduler``)."""

from importlib import import_module

from django.apps import apps


def app_modules(name, include_core=False):
    """``(app config, module)`` for every GreenLedger app that has the submodule ``name``,
    in INSTALLED_APPS order; an import error inside such a module is not hidden."""
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("greenledger.") or (config.label == "core" and not include_core):
            continue
        try:
            module = import_module(f"{config.name}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.{name}":
                raise
            continue
        found.append((config, module))
    return found
