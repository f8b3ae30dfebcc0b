"""Developers → API keys (K4, B7): owners list, create and revoke the organisation's keys.

A new key's secret is shown once, on the page that answers the creation form, and nowhere
else: it is neither stored (only its hash is) nor put in the session or a message on the way
to another page, and that page is marked `no-store` so the browser keeps no copy of it.
Reloading it would post the form again and make another key, never show this one again.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _

from api import services
from api.portal import selectors
from api.portal.forms import KeyForm
from clients.access import organisation_page
from clients.exceptions import ClientsError
from clients.roles import Permission


@organisation_page(Permission.MANAGE_INTEGRATIONS)
def api_keys(request: HttpRequest) -> HttpResponse:
    """The keys, and the form that makes a new one (POST: make it, show its secret once)."""
    organisation = request.organisation
    posted = request.POST if request.method == "POST" else None
    form = KeyForm(posted, organisation=organisation, words=request.words)
    if posted is not None and form.is_valid():
        try:
            made = services.create_key(
                organisation=organisation,
                actor=request.user,
                now=timezone.now(),
                **form.cleaned_data,
            )
        except ClientsError as refusal:
            form.add_error(None, str(refusal))
        else:
            response = render(
                request,
                "api/keys/created.html",
                {
                    "key": made.key,
                    "secret": made.secret,
                    "balance_url": request.build_absolute_uri("/api/v1/balance/"),
                },
            )
            response["Cache-Control"] = "no-store"
            return response
    context = {"keys": selectors.keys_of(organisation), "form": form}
    return render(request, "api/keys/index.html", context, status=400 if posted else 200)


@organisation_page(Permission.MANAGE_INTEGRATIONS)
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    """GET asks first; POST revokes (again is harmless: the first date stays)."""
    key = selectors.key_of(request.organisation, key_id)
    if key is None:
        raise Http404("No such API key.")
    if request.method == "POST":
        services.revoke_key(key=key, now=timezone.now())
        messages.success(
            request,
            _("The key “%(name)s” (%(prefix)s…) is revoked: it is refused from now on.")
            % {"name": key.name, "prefix": key.prefix},
        )
        return redirect("org:api_keys", slug=request.organisation.slug)
    return render(request, "api/keys/revoke.html", {"key": key})


urlpatterns = [
    path("developers/keys/", api_keys, name="api_keys"),
    path("developers/keys/<int:key_id>/revoke/", api_key_revoke, name="api_key_revoke"),
]
