"""The JSON API (Django Ninja): one router per app, one error format, session or token auth.

Every error body has the same shape, whatever raised it::

    {"errors": [{"field": "plate", "rule": "pattern", "message": "…"}]}

``field`` is a dotted path into the request (empty when the error is not about one field),
``rule`` a stable machine-readable name, ``message`` a sentence in the user's language.
Browsers use the session cookie (with CSRF); devices and integrations send
``Authorization: Bearer <token>`` with a token scoped to a site and a purpose.
"""

from django.core.exceptions import PermissionDenied, ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import APIKeyHeader, HttpBearer, django_auth

from greenledger.core import bulk
from greenledger.core.prepared import Prepared
from greenledger.core.models import ApiToken


# every API request of a device looks its token up: compiled once (core.prepared)
_token_by_hash = Prepared(lambda key_hash: ApiToken.objects.select_related("site").filter(key_hash=key_hash)[:1])


class TokenAuth(HttpBearer):
    """``Authorization: Bearer glt_…``: a device or integration token, looked up by its hash."""

    def authenticate(self, request, token):
        if not token:
            return None
        found = _token_by_hash.first(key_hash=ApiToken.hash_key(token))
        if found is None or not found.is_active:
            return None
        now = timezone.now()
        if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        return found


class HeaderTokenAuth(APIKeyHeader):
    """``X-Api-Key: glt_…`` for devices that cannot set an Authorization header."""

    param_name = "X-Api-Key"

    def authenticate(self, request, key):
        return TokenAuth().authenticate(request, key)


class FastJSONParser(Parser):
    """Request bodies read with orjson (see :mod:`greenledger.core.bulk`)."""

    def parse_body(self, request):
        return bulk.loads(request.body)


def error_body(errors):
    return {"errors": errors}


def one_error(message, rule, field=""):
    return error_body([{"field": field, "rule": rule, "message": str(message)}])


api = NinjaAPI(
    title="GreenLedger API",
    version="1",
    description="绿账 GreenLedger: environmental and carbon ledgers. Errors: {\"errors\": [{field, rule, message}]}.",
    # Tokens first: the session check enforces CSRF and would refuse a device's POST before the
    # token was looked at; browsers send no Authorization header and fall through to the session.
    auth=[TokenAuth(), HeaderTokenAuth(), django_auth],
    urls_namespace="api",
    parser=FastJSONParser(),
)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc):
    errors = []
    for item in exc.errors:
        loc = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path", "form", "payload")]
        errors.append({"field": ".".join(loc), "rule": item.get("type", "invalid"), "message": item.get("msg", "")})
    return api.create_response(request, error_body(errors), status=422)


@api.exception_handler(DjangoValidationError)
def on_django_validation_error(request, exc):
    errors = []
    if hasattr(exc, "error_dict"):
        for field, field_errors in exc.error_dict.items():
            for error in field_errors:
                errors.append({"field": "" if field == "__all__" else field, "rule": error.code or "invalid",
                               "message": " ".join(error.messages)})
    else:
        for error in exc.error_list:
            errors.append({"field": "", "rule": error.code or "invalid", "message": " ".join(error.messages)})
    return api.create_response(request, error_body(errors), status=422)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, exc):
    return api.create_response(request, one_error(_("Log in or send a valid API token."), "authentication"), status=401)


@api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc):
    return api.create_response(request, one_error(_("You do not have permission for this."), "permission"), status=403)


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return api.create_response(request, one_error(_("Not found."), "not_found"), status=404)


@api.exception_handler(HttpError)
def on_http_error(request, exc):
    message = exc.message if hasattr(exc, "message") else str(exc)
    return api.create_response(request, one_error(message, "http_%d" % exc.status_code), status=exc.status_code)


def _mount():
    from greenledger.core.api import router as core_router
    from greenledger.evidence.api import router as evidence_router
    from greenledger.carbon.api import router as carbon_router
    from greenledger.gate.api import router as gate_router
    from greenledger.measures.api import router as measures_router
    from greenledger.telemetry.api import router as telemetry_router
    from greenledger.uplink.api import router as uplink_router

    api.add_router("/core/", core_router)
    api.add_router("/evidence/", evidence_router)
    api.add_router("/measures/", measures_router)
    api.add_router("/telemetry/", telemetry_router)
    api.add_router("/carbon/", carbon_router)
    api.add_router("/gate/", gate_router)
    api.add_router("/uplink/", uplink_router)


_mount()


# Endpoints that manage their own transactions, exempt from ATOMIC_REQUESTS (by URL name). The
# camera push decides from reads and writes in one short ``atomic()`` of its own: held for the
# whole request, the transaction would keep SQLite's write lock (IMMEDIATE) while the push is parsed
# and decided, and every other push would queue behind it. The ping touches no database at all.
NON_ATOMIC_URL_NAMES = {"gate_camera_event", "gate_ping"}


def urls():
    """The API's URL patterns for the root URLconf, with :data:`NON_ATOMIC_URL_NAMES` exempted."""
    patterns, app_name, namespace = api.urls
    _exempt(patterns)
    return patterns, app_name, namespace


def _exempt(patterns):
    from django.db import DEFAULT_DB_ALIAS
    from django.urls import URLResolver

    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _exempt(pattern.url_patterns)
        elif pattern.name in NON_ATOMIC_URL_NAMES:
            pattern.callback._non_atomic_requests = {DEFAULT_DB_ALIAS}

