"""Tenancy for pages: every organisation page is reached through `organisation_page` (X5)."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from clients import selectors
from clients.roles import Permission
from clients.vocabulary import words_for

View = Callable[..., HttpResponse]


def organisation_page(permission: str = Permission.VIEW) -> Callable[[View], View]:
    """Resolve `slug` to the visitor's membership or answer 404, whatever the reason, so a
    page of another organisation is indistinguishable from one that does not exist. A role
    without `permission` (clients.roles) gets 403: a member knows the page exists.

    The request then carries `membership`, `organisation`, `permissions` (what the role may
    do, for templates) and `words` (how the organisation names its clients); the
    organisation's time zone is active (month boundaries, dates shown). The permission is
    kept on the view, so the tenancy test can check every route against the role matrix."""
    if permission not in Permission.values:
        raise ValueError(f"unknown permission {permission!r}")

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args: object, **kwargs: object):
            membership = selectors.membership_in(request.user, slug)
            if membership is None:
                raise Http404("No such organisation.")
            request.membership = membership
            request.organisation = membership.organisation
            request.permissions = membership.permissions
            request.words = words_for(membership.organisation.client_kind)
            if permission not in request.permissions:
                raise PermissionDenied
            timezone.activate(membership.organisation.time_zone)
            try:
                return view(request, *args, **kwargs)
            finally:
                timezone.deactivate()

        wrapper.portal_permission = permission
        return wrapper

    return decorate
