"""Clients (lists, sub-accounts, customers...): list, credits tab, assignments and limits
(G1, G3-G5, G7, D4, S5, S7).

Every client is found through `clients.selectors.visible_client`, so another organisation's
client (S7) and, for a member tied to one client, every other client answer 404. Refusals of
the services come back as form errors on the same page: nothing moved."""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clients import selectors, services
from clients.access import organisation_page
from clients.exceptions import ClientsError
from clients.forms.clients import (
    AssignmentForm,
    ClientEditForm,
    ClientForm,
    ClientStatusForm,
    LimitForm,
)
from clients.models import Client
from clients.roles import Permission
from clients.services.clients import set_client_active
from credits import services as credit_services
from credits.exceptions import CreditsError, InsufficientCredits, NotReassignable
from credits.selectors import clients as credit_selectors


def _visible_client(request: HttpRequest, client_id: int) -> Client:
    client = selectors.visible_client(request.membership, client_id)
    if client is None:
        raise Http404("No such client.")
    return client


def _to_client_page(request: HttpRequest, client: Client, anchor: str = "") -> HttpResponse:
    response = redirect("org:client", slug=request.organisation.slug, client_id=client.pk)
    if anchor:
        response["Location"] += f"#{anchor}"
    return response


def _add_errors(form: Form, error: ValidationError) -> None:
    """A service's ValidationError on the form: on its field when the form shows it."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _client_form_page(
    request: HttpRequest,
    form: Form,
    client: Client | None,
    save: Callable[[], Client],
    done: str,
) -> HttpResponse:
    """The client form, new (`client` None) or edit: a valid POST makes one service call,
    `save`; a refusal stays on the form (a rule of the model on its field, any other above
    the form); once saved, `done` % the client's name, and the client's page."""
    if request.method == "POST" and form.is_valid():
        try:
            saved = save()
        except ValidationError as error:
            _add_errors(form, error)
        except ClientsError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, done % {"name": saved.name})
            return _to_client_page(request, saved)
    return render(request, "clients/client_form.html", {"form": form, "client": client})


def _posted(request: HttpRequest) -> dict | None:
    """The form's data on POST, even empty (`request.POST or None` would leave an empty
    submission unbound, and so unanswered)."""
    return request.POST if request.method == "POST" else None


def _credits(credits: int) -> str:
    return number_format(credits, force_grouping=True)


@organisation_page(Permission.VIEW)
def client_list(request: HttpRequest) -> HttpResponse:
    listing = credit_selectors.visible_client_list(request.membership, now=timezone.now())
    return render(request, "clients/client_list.html", {"listing": listing})


@organisation_page(Permission.MANAGE_CLIENTS)
def client_new(request: HttpRequest) -> HttpResponse:
    form = ClientForm(_posted(request), organisation=request.organisation)
    return _client_form_page(
        request,
        form,
        None,
        lambda: services.create_client(organisation=request.organisation, **form.cleaned_data),
        _("“%(name)s” created."),
    )


@organisation_page(Permission.VIEW)
def client_detail(request: HttpRequest, client_id: int) -> HttpResponse:
    client = _visible_client(request, client_id)
    credits = credit_selectors.client_credits(client, now=timezone.now())
    return render(request, "clients/client_detail.html", {"client": client, "credits": credits})


@organisation_page(Permission.MANAGE_CLIENTS)
def client_edit(request: HttpRequest, client_id: int) -> HttpResponse:
    client = _visible_client(request, client_id)
    form = ClientEditForm(_posted(request), client=client)
    return _client_form_page(
        request,
        form,
        client,
        lambda: services.update_client(client=client, **form.cleaned_data),
        _("“%(name)s” saved."),
    )


@organisation_page(Permission.MANAGE_CLIENTS)
def client_status(request: HttpRequest, client_id: int) -> HttpResponse:
    """GET asks first; POST sets the state the form names (never the own client, G1)."""
    client = _visible_client(request, client_id)
    wanted = "no" if client.is_active else "yes"
    form = ClientStatusForm(_posted(request), initial={"active": wanted})
    if request.method == "POST" and form.is_valid():
        active = form.cleaned_data["active"]
        try:
            set_client_active(client=client, active=active)
        except ClientsError as error:
            form.add_error(None, str(error))
        else:
            if active:
                done = _("“%(name)s” is active again: it can spend credits.")
            else:
                done = _("“%(name)s” is deactivated: it can no longer spend credits.")
            messages.success(request, done % {"name": client.name})
            return _to_client_page(request, client)
    return render(request, "clients/client_status.html", {"client": client, "form": form})


def _move_credits(
    request: HttpRequest,
    client: Client,
    form: AssignmentForm,
    move: Callable[..., object],
    short: Callable[[int], str],
    done: Callable[[int], str],
) -> bool:
    """Assign or take back the form's credits through `move` (one service call); a refusal
    becomes a form error with its figures. True once done. A policy that forbids taking back
    (NotReassignable) is left to the caller, which then says why instead of a form."""
    data = form.cleaned_data
    try:
        move(
            organisation=request.organisation,
            client=client,
            credits=data["credits"],
            reference=data["reference"],
            comment=data["comment"],
            actor=request.user,
            idempotency_key=str(data["idempotency_key"]),
            now=timezone.now(),
        )
    except InsufficientCredits as refusal:
        figures = {"available": _credits(refusal.available), "short": _credits(refusal.shortfall)}
        form.add_error("credits", short(refusal.available) % figures)
        return False
    except NotReassignable:
        raise
    except CreditsError as error:
        form.add_error(None, str(error))
        return False
    figures = {"credits": _credits(data["credits"]), "name": client.name}
    messages.success(request, done(data["credits"]) % figures)
    return True


@organisation_page(Permission.MANAGE_CLIENTS)
def client_assign(request: HttpRequest, client_id: int) -> HttpResponse:
    """Unassigned credits of the pool to this client, with a reference and a comment (G3,
    G4); the form's key makes a double submission assign once (X3)."""
    client = _visible_client(request, client_id)
    form = AssignmentForm(_posted(request))
    if (
        request.method == "POST"
        and form.is_valid()
        and _move_credits(
            request,
            client,
            form,
            credit_services.assign,
            short=lambda n: ngettext(
                "Only %(available)s credit is waiting to be assigned: %(short)s short.",
                "Only %(available)s credits are waiting to be assigned: %(short)s short.",
                n,
            ),
            done=lambda n: ngettext(
                "%(credits)s credit assigned to “%(name)s”.",
                "%(credits)s credits assigned to “%(name)s”.",
                n,
            ),
        )
    ):
        return _to_client_page(request, client, "credits")
    summary = credit_selectors.client_summary(client, now=timezone.now())
    return render(
        request,
        "clients/client_assign.html",
        {"client": client, "form": form, "summary": summary},
    )


@organisation_page(Permission.MANAGE_CLIENTS)
def client_unassign(request: HttpRequest, client_id: int) -> HttpResponse:
    """Assigned credits back to the pool, only where the policy allows it (G3); otherwise
    the page says why and offers no form. Never to another organisation (S7)."""
    client = _visible_client(request, client_id)
    summary = credit_selectors.client_summary(client, now=timezone.now())
    form = AssignmentForm(_posted(request)) if summary.reversible else None
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            moved = _move_credits(
                request,
                client,
                form,
                credit_services.unassign,
                short=lambda n: ngettext(
                    "Only %(available)s assigned credit is left to take back: %(short)s short.",
                    "Only %(available)s assigned credits are left to take back: %(short)s short.",
                    n,
                ),
                done=lambda n: ngettext(
                    "%(credits)s credit taken back from “%(name)s”.",
                    "%(credits)s credits taken back from “%(name)s”.",
                    n,
                ),
            )
        except NotReassignable:
            form = None  # the policy changed since the page was drawn: say why instead
        else:
            if moved:
                return _to_client_page(request, client, "credits")
    return render(
        request,
        "clients/client_unassign.html",
        {"client": client, "form": form, "summary": summary},
    )


@organisation_page(Permission.MANAGE_CLIENTS)
def client_limit(request: HttpRequest, client_id: int) -> HttpResponse:
    """None, monthly or fixed; switching kind starts the used counter at 0 again (D4)."""
    client = _visible_client(request, client_id)
    summary = credit_selectors.client_summary(client, now=timezone.now())
    initial = {
        "kind": summary.limit.kind,
        "limit": summary.limit.limit,
        "draws_from_pool": summary.draws_from_pool,
    }
    form = LimitForm(_posted(request), initial=initial, may_choose_pool=not summary.is_own)
    if request.method == "POST" and form.is_valid():
        try:
            credit_services.set_spending_limit(
                client=client,
                kind=form.cleaned_data["kind"],
                limit=form.cleaned_data["limit"],
                draws_from_pool=form.pool_choice,
                actor=request.user,
                now=timezone.now(),
            )
        except CreditsError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("Spending limit of “%(name)s” saved.") % {"name": client.name}
            )
            return _to_client_page(request, client, "credits")
    return render(
        request, "clients/client_limit.html", {"client": client, "form": form, "summary": summary}
    )


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
