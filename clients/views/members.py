"""Members and roles: invitations, role changes, removal (D4, X5)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from clients import selectors
from clients.access import organisation_page
from clients.roles import Permission


@organisation_page(Permission.VIEW)
def member_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "clients/member_list.html", {"members": selectors.members_of(request.organisation)}
    )


@organisation_page(Permission.MANAGE_MEMBERS)
def member_invite(request: HttpRequest) -> HttpResponse:
    return HttpResponse("member_invite: not built yet")  # replaced by the page's own work


@organisation_page(Permission.MANAGE_MEMBERS)
def member_edit(request: HttpRequest, membership_id: int) -> HttpResponse:
    return HttpResponse("member: not built yet")  # replaced by the page's own work


@organisation_page(Permission.MANAGE_MEMBERS)
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    return HttpResponse("member_remove: not built yet")  # replaced by the page's own work


@organisation_page(Permission.MANAGE_MEMBERS)
def invitation_cancel(request: HttpRequest, invitation_id: int) -> HttpResponse:
    return HttpResponse("invitation_cancel: not built yet")  # replaced by the page's own work


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
]
