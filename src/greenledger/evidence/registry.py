"""Which tables are sealed: every row of a registered model must have a leaf in the evidence log.

Concrete subclasses of ``SealedModel`` register themselves when the app registry is ready
(``EvidenceConfig.ready``). Other tables whose rows are sealed by hand with
``services.seal(instance)`` (for example django-auditlog's ``LogEntry``) are registered with
``register(model)``, usually in the owning app's ``ready()``, or listed by label in the setting
``GREENLEDGER_EVIDENCE_SEALED_MODELS``. ``verify-evidence`` uses the registry to find rows that
were inserted without a leaf.
"""

from django.apps import apps

_sealed = {}


def register(model):
    """Declare that every row of ``model`` is sealed. Returns the model, so it works as a decorator."""
    model = model._meta.concrete_model
    _sealed[model._meta.label_lower] = model
    return model


def unregister(model):
    _sealed.pop(model._meta.concrete_model._meta.label_lower, None)


def is_registered(model) -> bool:
    return model._meta.concrete_model._meta.label_lower in _sealed


def sealed_models() -> dict:
    """Label -> model of every registered table, sorted by label."""
    return dict(sorted(_sealed.items()))


def model_for(label: str):
    """The model behind a leaf's table label, or None when no installed app has it."""
    if label in _sealed:
        return _sealed[label]
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def autodiscover(extra_labels=()):
    """Register every concrete SealedModel subclass and the labels listed in settings."""
    from greenledger.evidence.models import SealedModel

    for model in apps.get_models():
        if issubclass(model, SealedModel) and not model._meta.proxy:
            register(model)
    for label in extra_labels:
        register(apps.get_model(label))
