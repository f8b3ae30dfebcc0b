"""Clients (lists, sub-accounts, customers...): list, credits tab, assignments and limits
(G1, G3-G5, G7, D4, S5)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from clients import selectors, services
from clients.access import organisation_page
from clients.forms.clients import ClientForm
from clients.roles import Permission


@organisation_page(Permission.VIEW)
def client_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "clients/client_list.html",
        {"clients": selectors.visible_clients(request.membership), "form": ClientForm()},
    )


@organisation_page(Permission.MANAGE_CLIENTS)
def client_new(request: HttpRequest) -> HttpResponse:
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            client = services.create_client(organisation=request.organisation, **form.cleaned_data)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("Client “%(name)s” created.") % {"name": client})
            return redirect("org:client", slug=request.organisation.slug, client_id=client.pk)
    return render(
        request,
        "clients/client_list.html",
        {"clients": selectors.visible_clients(request.membership), "form": form},
    )


@organisation_page(Permission.VIEW)
def client_detail(request: HttpRequest, client_id: int) -> HttpResponse:
    client = selectors.visible_client(request.membership, client_id)
    if client is None:
        raise Http404("No such client.")
    return render(request, "clients/client_detail.html", {"client": client})


@organisation_page(Permission.MANAGE_CLIENTS)
def client_edit(request: HttpRequest, client_id: int) -> HttpResponse:
    return HttpResponse("client_edit: not built yet")  # replaced by the page's own work


@organisation_page(Permission.MANAGE_CLIENTS)
def client_status(request: HttpRequest, client_id: int) -> HttpResponse:
    return HttpResponse("client_status: not built yet")  # replaced by the page's own work


@organisation_page(Permission.MANAGE_CLIENTS)
def client_assign(request: HttpRequest, client_id: int) -> HttpResponse:
    return HttpResponse("client_assign: not built yet")  # replaced by the page's own work


@organisation_page(Permission.MANAGE_CLIENTS)
def client_unassign(request: HttpRequest, client_id: int) -> HttpResponse:
    return HttpResponse("client_unassign: not built yet")  # replaced by the page's own work


@organisation_page(Permission.MANAGE_CLIENTS)
def client_limit(request: HttpRequest, client_id: int) -> HttpResponse:
    return HttpResponse("client_limit: not built yet")  # replaced by the page's own work


urlpatterns = [
    path("clients/", client_list, name="clients"),
    path("clients/new/", client_new, name="client_new"),
    path("clients/<int:client_id>/", client_detail, name="client"),
    path("clients/<int:client_id>/edit/", client_edit, name="client_edit"),
    path("clients/<int:client_id>/status/", client_status, name="client_status"),
    path("clients/<int:client_id>/assign/", client_assign, name="client_assign"),
    path("clients/<int:client_id>/take-back/", client_unassign, name="client_unassign"),
    path("clients/<int:client_id>/limit/", client_limit, name="client_limit"),
]
