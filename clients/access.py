"""Tenancy for pages: every organisation page is reached through `organisation_page` (X5)."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from clients import selectors

View = Callable[..., HttpResponse]


def organisation_page(*, manage: bool = False) -> Callable[[View], View]:
    """Resolve `slug` to the visitor's membership or answer 404, whatever the reason, so a
    page of another organisation is indistinguishable from one that does not exist.
    `manage=True` also requires an owner or admin (403 for members, who know the page exists).
    The organisation's time zone is active for the request (month boundaries, dates shown)."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args: object, **kwargs: object):
            membership = selectors.membership_in(request.user, slug)
            if membership is None:
                raise Http404("No such organisation.")
            if manage and not membership.manages:
                raise PermissionDenied
            request.membership = membership
            request.organisation = membership.organisation
            timezone.activate(membership.organisation.time_zone)
            try:
                return view(request, *args, **kwargs)
            finally:
                timezone.deactivate()

        return wrapper

    return decorate
