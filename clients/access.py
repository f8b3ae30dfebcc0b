"""Tenancy for pages: every organisation page is reached through `organisation_page` (X5)."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

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
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args: object, **kwargs: object):
            if not request.user.is_authenticated:
                return _to_login(request)
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


def _to_login(request: HttpRequest) -> HttpResponse:
    """A visitor whose session ended goes to the login page, and comes back afterwards. For
    an htmx request (the home page's figures refreshing by themselves) the whole page goes
    there, instead of the login form being swapped into a fragment of the page."""
    if request.htmx:
        back = request.htmx.current_url_abs_path or "/"
        return HttpResponseClientRedirect(redirect_to_login(back).url)
    return redirect_to_login(request.get_full_path())
