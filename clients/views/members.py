"""Members and roles: the list, invitations, role changes, removal (D4, X5); and the page an
invitation's link opens, outside any organisation (the visitor is not a member yet)."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from clients import selectors
from clients.access import organisation_page
from clients.exceptions import ClientsError
from clients.forms.members import InvitedAccountForm, InviteForm, MemberForm
from clients.models import Invitation
from clients.roles import Permission
from clients.selectors import AcceptState
from clients.services import members as services

# A refused change re-renders its form with the reason and this status; nothing moved.
REFUSED = 400


def _to_members(request: HttpRequest) -> HttpResponse:
    return redirect("org:members", slug=request.organisation.slug)


def _sent_or_not(request: HttpRequest, invitation: Invitation) -> None:
    """Say plainly whether the mail server took the e-mail: never "sent" when it was not."""
    if invitation.delivery == "sent":
        messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
    elif invitation.delivery == "failed":
        messages.warning(
            request,
            _(
                "The invitation to %(email)s is recorded, but the e-mail could not be sent. "
                "Use “Send again” in a moment."
            )
            % {"email": invitation.email},
        )
    else:
        messages.info(
            request, _("The invitation to %(email)s is being sent.") % {"email": invitation.email}
        )


@organisation_page(Permission.VIEW)
def member_list(request: HttpRequest) -> HttpResponse:
    page = selectors.members_page(request.membership, timezone.now())
    return render(request, "clients/member_list.html", {"page": page})


@organisation_page(Permission.MANAGE_MEMBERS)
def member_invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None, organisation=request.organisation, words=request.words)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invite_member(
                organisation=request.organisation,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                client=form.cleaned_data["client"],
                invited_by=request.user,
                link_base=request.build_absolute_uri("/"),
                now=timezone.now(),
            )
        except ClientsError as error:
            form.add_error(None, str(error))
        else:
            _sent_or_not(request, invitation)
            return _to_members(request)
    return render(
        request,
        "clients/member_invite.html",
        {"form": form},
        status=REFUSED if form.errors else 200,
    )


def _membership_or_404(request: HttpRequest, membership_id: int):
    membership = selectors.member_in(request.organisation, membership_id)
    if membership is None:
        raise Http404("No such member.")
    return membership


@organisation_page(Permission.MANAGE_MEMBERS)
def member_edit(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = _membership_or_404(request, membership_id)
    form = MemberForm(
        request.POST or None,
        organisation=request.organisation,
        words=request.words,
        current_client=membership.client,
        initial={"role": membership.role, "client": membership.client},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.change_member(
                membership=membership,
                role=form.cleaned_data["role"],
                client=form.cleaned_data["client"],
            )
        except ClientsError as error:
            form.add_error(None, str(error))
            membership.refresh_from_db()
        else:
            messages.success(
                request,
                _("%(person)s is now %(role)s.")
                % {
                    "person": membership.user.get_username(),
                    "role": membership.get_role_display().lower(),
                },
            )
            return _to_members(request)
    return render(
        request,
        "clients/member_edit.html",
        {"membership": membership, "form": form},
        status=REFUSED if form.errors else 200,
    )


@organisation_page(Permission.MANAGE_MEMBERS)
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = _membership_or_404(request, membership_id)
    error = None
    if request.method == "POST":
        try:
            services.remove_member(membership=membership)
        except ClientsError as refusal:
            error = str(refusal)
        else:
            if membership.user_id == request.user.pk:
                messages.success(
                    request,
                    _("You left %(organisation)s.") % {"organisation": request.organisation},
                )
                return redirect("home")
            messages.success(
                request,
                _("%(person)s no longer belongs to %(organisation)s.")
                % {"person": membership.user.get_username(), "organisation": request.organisation},
            )
            return _to_members(request)
    return render(
        request,
        "clients/member_remove.html",
        {"membership": membership, "error": error, "is_you": membership.user_id == request.user.pk},
        status=REFUSED if error else 200,
    )


def _invitation_or_404(request: HttpRequest, invitation_id: int) -> Invitation:
    invitation = selectors.invitation_in(request.organisation, invitation_id)
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def _invitation_change(
    request: HttpRequest,
    invitation_id: int,
    template: str,
    change: Callable[[Invitation], None],
) -> HttpResponse:
    """The page that asks before an invitation changes (cancelled, sent again): on POST,
    `change` makes one service call and says what it did; a refusal stays on the same page
    with its reason, nothing moved."""
    invitation = _invitation_or_404(request, invitation_id)
    error = None
    if request.method == "POST":
        try:
            change(invitation)
        except ClientsError as refusal:
            error = str(refusal)
        else:
            return _to_members(request)
    return render(
        request,
        template,
        {"invitation": invitation, "error": error},
        status=REFUSED if error else 200,
    )


@organisation_page(Permission.MANAGE_MEMBERS)
def invitation_cancel(request: HttpRequest, invitation_id: int) -> HttpResponse:
    def cancel(invitation: Invitation) -> None:
        services.cancel_invitation(invitation=invitation, now=timezone.now())
        messages.success(
            request,
            _("The invitation to %(email)s is cancelled.") % {"email": invitation.email},
        )

    return _invitation_change(request, invitation_id, "clients/invitation_cancel.html", cancel)


@organisation_page(Permission.MANAGE_MEMBERS)
def invitation_resend(request: HttpRequest, invitation_id: int) -> HttpResponse:
    def send_again(invitation: Invitation) -> None:
        sent = services.send_invitation_again(invitation=invitation, now=timezone.now())
        _sent_or_not(request, sent)

    return _invitation_change(request, invitation_id, "clients/invitation_resend.html", send_again)


urlpatterns = [
    path("members/", member_list, name="members"),
    path("members/invite/", member_invite, name="member_invite"),
    path("members/<int:membership_id>/", member_edit, name="member"),
    path("members/<int:membership_id>/remove/", member_remove, name="member_remove"),
    path(
        "members/invitations/<int:invitation_id>/cancel/",
        invitation_cancel,
        name="invitation_cancel",
    ),
    path(
        "members/invitations/<int:invitation_id>/send-again/",
        invitation_resend,
        name="invitation_resend",
    ),
]


# What the invitation's link (config.urls: /invitations/<token>/) answers once it cannot be used.
CLOSED_STATUS = {
    AcceptState.UNKNOWN: 404,
    AcceptState.USED: 410,
    AcceptState.CANCELLED: 410,
    AcceptState.EXPIRED: 410,
}


@never_cache
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Whoever holds the link may join, once: a new person chooses a username and a
    password; an e-mail that already has an account logs in first, then accepts in one click.
    An unknown, used, cancelled or expired link is said plainly (404 or 410)."""
    now = timezone.now()
    invitation = selectors.invitation_by_token(token)
    state = selectors.accept_state(invitation, request.user, now)
    if state in CLOSED_STATUS:
        return render(
            request,
            "clients/invitation_closed.html",
            {"state": state},
            status=CLOSED_STATUS[state],
        )
    if state == AcceptState.JOINED:
        return redirect("org:home", slug=invitation.organisation.slug)
    form = None
    error = None
    if state == AcceptState.SIGN_UP:
        form = InvitedAccountForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and state in (AcceptState.ACCEPT, AcceptState.SIGN_UP):
        try:
            if state == AcceptState.ACCEPT:
                membership = services.accept_invitation(token=token, user=request.user, now=now)
            elif form.is_valid():
                membership = services.accept_invitation_as_new_user(
                    token=token,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password1"],
                    now=now,
                )
                # Two backends are configured (django-axes first): name the one that would
                # have authenticated this new person's password.
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            else:
                membership = None
        except ClientsError as refusal:
            error = str(refusal)
        else:
            if membership is not None:
                messages.success(
                    request,
                    _("Welcome to %(organisation)s.") % {"organisation": invitation.organisation},
                )
                return redirect("org:home", slug=invitation.organisation.slug)
    return render(
        request,
        "clients/invitation_accept.html",
        {"invitation": invitation, "state": state, "form": form, "error": error},
        status=REFUSED if (error or (form is not None and form.errors)) else 200,
    )
