"""Permissions on every path: role (Django permission) and object scope (site).

Views use Django's ``permission_required``; queries go through :func:`scope_sites` /
:func:`scope_queryset` so a user sees only the sites on their person record. API requests
authenticated by a device token are limited to the token's site and purpose.
"""

from django.core.exceptions import PermissionDenied

from .models import ApiToken, Site
from .roles import ALL_SITE_ROLES


def user_sites(user):
    """Sites the user may see: all for superusers and system admins, else those on their person."""
    if not user.is_authenticated:
        return Site.objects.none()
    if user.is_superuser or user.groups.filter(name__in=ALL_SITE_ROLES).exists():
        return Site.objects.all()
    person = getattr(user, "person", None)
    if person is None:
        return Site.objects.none()
    return person.sites.all()


def token_of(request):
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


def scope_sites(request):
    token = token_of(request)
    if token is not None:
        return Site.objects.filter(pk=token.site_id)
    return user_sites(request.user)


def scope_queryset(request, queryset, site_path="site"):
    """Filter ``queryset`` to rows whose ``site_path`` lies in the request's site scope."""
    return queryset.filter(**{f"{site_path}__in": scope_sites(request)})


def require(request, perm, *, purposes=()):
    """Raise PermissionDenied unless the user holds ``perm`` or the device token has a listed purpose."""
    token = token_of(request)
    if token is not None:
        if token.purpose in purposes:
            return
        raise PermissionDenied(f"token purpose {token.purpose!r} may not use this endpoint")
    if not request.user.has_perm(perm):
        raise PermissionDenied(f"missing permission {perm}")


def require_site(request, site):
    if not scope_sites(request).filter(pk=site.pk).exists():
        raise PermissionDenied("site outside your scope")
