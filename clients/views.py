"""Pages of an organisation: each view validates, makes one service call, renders."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from clients import selectors, services
from clients.access import organisation_page
from clients.forms import ClientForm
from credits import selectors as credit_selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Land on the organisation's home; people in several organisations choose first."""
    memberships = list(selectors.memberships_of(request.user))
    if len(memberships) == 1:
        return redirect("org:home", slug=memberships[0].organisation.slug)
    return render(request, "clients/switcher.html", {"memberships": memberships})


@organisation_page()
def organisation_home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "clients/home.html",
        {"figures": credit_selectors.pool_figures(request.organisation)},
    )


@organisation_page()
def client_list(request: HttpRequest) -> HttpResponse:
    form = ClientForm(request.POST or None)
    if request.method == "POST":
        if not request.membership.manages:
            raise PermissionDenied
        if form.is_valid():
            try:
                client = services.create_client(
                    organisation=request.organisation, **form.cleaned_data
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, _("Client “%(name)s” created.") % {"name": client})
                return redirect("org:client", slug=request.organisation.slug, client_id=client.pk)
    return render(
        request,
        "clients/client_list.html",
        {"clients": selectors.clients_of(request.organisation), "form": form},
    )


@organisation_page()
def client_detail(request: HttpRequest, client_id: int) -> HttpResponse:
    client = selectors.client_in(request.organisation, client_id)
    if client is None:
        raise Http404("No such client.")
    return render(request, "clients/client_detail.html", {"client": client})


@organisation_page()
def member_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "clients/member_list.html", {"members": selectors.members_of(request.organisation)}
    )
