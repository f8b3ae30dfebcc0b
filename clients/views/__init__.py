"""Pages of the clients app: the organisation switcher here, clients and members in their
modules. Each view validates, makes one selector or service call, renders."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from clients import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Land on the organisation's home; people in several organisations choose first."""
    memberships = list(selectors.memberships_of(request.user))
    if len(memberships) == 1:
        return redirect("org:home", slug=memberships[0].organisation.slug)
    return render(request, "clients/switcher.html", {"memberships": memberships})
