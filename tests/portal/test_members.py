"""Members, roles and invitations (D4, X5): the member list, invitations by e-mail and their
link, role changes and removal, each refusal moving nothing."""

import hashlib
import re
import smtplib
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from clients.exceptions import InvitationClosedError
from clients.models import Invitation, Membership, Role
from clients.selectors import invitations_to_retry, visible_clients
from clients.services import members as member_services
from credits.models import LedgerEntry
from tests.credits.conftest import figures
from tests.portal.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver/invitations/([A-Za-z0-9_-]+)/")
NEW_PASSWORD = "Plum-Orchard-Harbour-42"


@pytest.fixture
def alpha(make_portal):
    return make_portal("alpha")


@pytest.fixture
def bravo(make_portal):
    return make_portal("bravo")


def url(portal, path: str = "") -> str:
    return f"/o/{portal.organisation.slug}/members/{path}"


def invite(http, portal, email: str = "newcomer@example.com", **fields) -> object:
    """The owner's invitation form, submitted (`client` is the field of the client to tie)."""
    return http.post(url(portal, "invite/"), {"email": email, "role": "member", **fields})


def link_of(message) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    return match.group(0)[len("http://testserver") :]


def token_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[1]


@pytest.fixture
def mail_server_down(monkeypatch):
    """The mail server refuses every message, as an SMTP server that is down would."""

    def refuse(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)


# --- The member list -------------------------------------------------------------------


def test_the_list_shows_each_role_and_the_client_a_member_is_tied_to_d4(client, login, alpha):
    # Given the owner of Alpha (an SMS platform: its clients are lists)
    login(alpha.owner)
    # When she opens the member list
    response = client.get(url(alpha))
    # Then every person is there with their role, the tied member with her list
    assert response.status_code == 200
    rows = {row.username: row for row in response.context["page"].members}
    assert {name: row.role for name, row in rows.items()} == {
        "alpha-owner": "owner",
        "alpha-admin": "admin",
        "alpha-member": "member",
        "alpha-tied": "member",
    }
    assert rows["alpha-tied"].client_name == "Alpha one"
    assert rows["alpha-member"].client_name is None
    # And the column is named in the organisation's words
    html = response.content.decode()
    assert "<th>List</th>" in html
    assert "Alpha one" in html
    assert "All lists" in html


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owners_and_admins_see_members_e_mail_addresses_d4(client, login, alpha, who):
    login(getattr(alpha, who))
    response = client.get(url(alpha))
    assert "alpha-member@test.example" in response.content.decode()


@pytest.mark.parametrize("who", ["member", "tied"])
def test_plain_members_do_not_see_e_mail_addresses_x5(client, login, alpha, who):
    # Given a plain member
    login(getattr(alpha, who))
    # When she opens the member list
    response = client.get(url(alpha))
    # Then she sees the people and their roles, but no e-mail address, not even in the context
    assert response.status_code == 200
    assert "@test.example" not in response.content.decode()
    assert all(row.email is None for row in response.context["page"].members)
    assert "alpha-admin" in response.content.decode()


def test_the_list_explains_what_each_role_may_do_d4(client, login, alpha):
    login(alpha.member)
    roles = {r.role: r.may for r in client.get(url(alpha)).context["page"].roles}
    assert roles["member"] == ["See figures and history", "Spend credits"]
    assert "Manage members and roles" in roles["owner"]
    assert "Manage members and roles" not in roles["admin"]
    assert "Buy credits and read invoices" in roles["admin"]


def test_pending_invitations_are_shown_to_owners_only_d4(client, login, alpha):
    login(alpha.owner)
    invite(client, alpha, "pending@example.com")
    assert "pending@example.com" in client.get(url(alpha)).content.decode()
    client.logout()
    login(alpha.admin)
    assert "pending@example.com" not in client.get(url(alpha)).content.decode()


def test_the_list_takes_a_fixed_number_of_queries(
    client, login, alpha, make_user, django_assert_max_num_queries
):
    # Given 20 more members and 5 invitations
    for n in range(20):
        member_services.add_member(organisation=alpha.organisation, user=make_user(f"extra{n}"))
    login(alpha.owner)
    for n in range(5):
        invite(client, alpha, f"invitee{n}@example.com")
    # When the owner opens the list, then the queries do not grow with the rows
    with django_assert_max_num_queries(8):
        assert client.get(url(alpha)).status_code == 200


# --- Inviting ---------------------------------------------------------------------------


def test_an_invitation_sends_one_e_mail_with_a_link_to_accept_d4(client, login, alpha):
    # Given the owner
    login(alpha.owner)
    # When she invites someone as a member tied to a list
    response = invite(client, alpha, "Newcomer@Example.com", client=alpha.clients[1].pk)
    # Then one e-mail goes to that address with a link to this site's acceptance page
    assert response.status_code == 302
    assert response["Location"] == url(alpha)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["newcomer@example.com"]
    assert message.subject == "You are invited to join Alpha"
    assert "alpha-owner invites you to join Alpha" in message.body
    assert "You will see and spend only for Alpha two." in message.body
    link = link_of(message)
    # And the invitation is recorded as sent, the token stored only as its hash
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.client) == (
        "newcomer@example.com",
        Role.MEMBER,
        alpha.clients[1],
    )
    assert invitation.sent_at is not None
    assert invitation.send_error == ""
    assert invitation.token_hash == hashlib.sha256(token_of(link).encode()).hexdigest()
    assert token_of(link) not in str(Invitation.objects.values().get())
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)


def test_someone_already_a_member_is_not_invited_d4(client, login, alpha):
    login(alpha.owner)
    response = invite(client, alpha, "ALPHA-member@test.example")
    assert response.status_code == 400
    assert "is already a member of Alpha" in response.content.decode()
    assert Invitation.objects.count() == 0
    assert mail.outbox == []


def test_one_open_invitation_per_e_mail_and_organisation_d4(client, login, alpha):
    login(alpha.owner)
    invite(client, alpha, "twice@example.com")
    response = invite(client, alpha, "twice@example.com", role="admin")
    assert response.status_code == 400
    assert "already invited" in response.content.decode()
    assert Invitation.objects.filter(email="twice@example.com").count() == 1
    assert len(mail.outbox) == 1


def test_an_expired_invitation_gives_way_to_a_new_one_d4(client, login, alpha):
    login(alpha.owner)
    invite(client, alpha, "late@example.com")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert invite(client, alpha, "late@example.com").status_code == 302
    assert Invitation.objects.filter(cancelled_at__isnull=True).count() == 1
    assert Invitation.objects.filter(cancelled_at__isnull=False).count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": "a" * 5000 + "@example.com"}, "email"),
        ({"email": ""}, "email"),
        ({"role": "superuser"}, "role"),
        ({"role": "owner" * 1000}, "role"),
        ({"client": "text"}, "client"),
        ({"client": 10**20}, "client"),
        ({"role": "admin", "client": "OWN"}, "client"),  # owners and admins are never tied
    ],
)
def test_bad_invitations_get_a_form_error_and_move_nothing_x5(client, login, alpha, fields, field):
    # Given the owner, and the figures before
    login(alpha.owner)
    before = figures(alpha.organisation)
    if fields.get("client") == "OWN":
        fields = {**fields, "client": alpha.clients[0].pk}
    # When she sends a bad invitation
    response = invite(client, alpha, **{"email": "ok@example.com", **fields})
    # Then the form says what is wrong, and nothing is recorded nor sent
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert Invitation.objects.count() == 0
    assert mail.outbox == []
    assert figures(alpha.organisation) == before


def test_another_organisations_client_cannot_be_chosen_x5(client, login, alpha, bravo):
    login(alpha.owner)
    response = invite(client, alpha, client=bravo.clients[0].pk)
    assert response.status_code == 400
    assert "client" in response.context["form"].errors
    assert Invitation.objects.count() == 0


# --- A mail server that fails -----------------------------------------------------------


def test_a_mail_failure_keeps_the_invitation_failed_never_sent_d4(
    client, login, alpha, mail_server_down
):
    # Given a mail server that is down
    login(alpha.owner)
    # When the owner invites someone
    response = invite(client, alpha, "unlucky@example.com")
    # Then the invitation is recorded, marked failed with the error, never as sent
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.sent_at is None
    assert invitation.delivery == "failed"
    assert invitation.send_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    # And the owner is told so, with the way out
    page = client.get(url(alpha)).content.decode()
    assert "could not be sent" in page
    assert "Not sent" in page
    assert "Send again" in page


def test_send_again_delivers_a_fresh_link_after_a_failure_d4(client, login, alpha, monkeypatch):
    # Given an invitation whose e-mail failed
    login(alpha.owner)
    original = EmailBackend.send_messages
    monkeypatch.setattr(EmailBackend, "send_messages", lambda self, m: 1 / 0)
    invite(client, alpha, "retry@example.com")
    invitation = Invitation.objects.get()
    assert invitation.delivery == "failed"
    # When the mail server is back and the owner sends it again
    monkeypatch.setattr(EmailBackend, "send_messages", original)
    response = client.post(url(alpha, f"invitations/{invitation.pk}/send-again/"))
    # Then one e-mail goes out, and the invitation is sent
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    invitation.refresh_from_db()
    assert invitation.delivery == "sent"
    assert invitation.send_attempts == 2
    # And its link works
    assert client.get(link_of(mail.outbox[0])).status_code == 200


def test_send_again_replaces_the_previous_link_d4(client, login, alpha):
    login(alpha.owner)
    invite(client, alpha, "again@example.com")
    first = link_of(mail.outbox[0])
    invitation = Invitation.objects.get()
    client.post(url(alpha, f"invitations/{invitation.pk}/send-again/"))
    client.logout()
    assert client.get(first).status_code == 404
    assert client.get(link_of(mail.outbox[1])).status_code == 200


def test_the_sweep_retries_failed_invitations_and_leaves_sent_ones_alone_d4(
    client, login, alpha, monkeypatch
):
    from clients.tasks import sweep_invitations

    # Given one invitation sent and one whose e-mail failed
    login(alpha.owner)
    invite(client, alpha, "fine@example.com")
    original = EmailBackend.send_messages
    monkeypatch.setattr(
        EmailBackend, "send_messages", lambda self, m: (_ for _ in ()).throw(OSError("down"))
    )
    invite(client, alpha, "failed@example.com")
    monkeypatch.setattr(EmailBackend, "send_messages", original)
    failed = Invitation.objects.get(email="failed@example.com")
    assert invitations_to_retry(timezone.now()) == [failed.pk]
    # When the sweep runs (twice)
    assert sweep_invitations() == 1
    assert sweep_invitations() == 0
    # Then only the failed one is sent, once
    assert [m.to for m in mail.outbox] == [["fine@example.com"], ["failed@example.com"]]
    failed.refresh_from_db()
    assert failed.delivery == "sent"


def test_the_sweep_retries_a_try_that_was_lost_half_way_d4(alpha):
    # Given an invitation whose try began 11 minutes ago and never got an answer
    now = timezone.now()
    invitation, _token = member_services.record_invitation(
        organisation=alpha.organisation,
        email="lost@example.com",
        role=Role.MEMBER,
        client=None,
        invited_by=alpha.owner,
        link_base="http://testserver",
        now=now,
    )
    Invitation.objects.filter(pk=invitation.pk).update(
        send_attempts=1, last_attempt_at=now - timedelta(minutes=11)
    )
    # Then the sweep picks it up; a try of a minute ago is left to finish
    assert invitations_to_retry(now) == [invitation.pk]
    Invitation.objects.filter(pk=invitation.pk).update(last_attempt_at=now - timedelta(minutes=1))
    assert invitations_to_retry(now) == []


# --- Accepting --------------------------------------------------------------------------


def test_a_new_person_accepts_and_joins_with_the_role_and_client_d4(client, login, alpha):
    # Given an invitation to someone without an account, as a member of the second list
    login(alpha.owner)
    invite(client, alpha, "newcomer@example.com", client=alpha.clients[1].pk)
    link = link_of(mail.outbox[0])
    client.logout()
    # When she opens the link, chooses a username and a password
    page = client.get(link)
    assert page.status_code == 200
    assert page.context["state"] == "sign_up"
    response = client.post(
        link, {"username": "newcomer", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    # Then her account exists with the invited e-mail, she is a member tied to that list
    assert response.status_code == 302
    assert response["Location"] == "/o/alpha/"
    user = get_user_model().objects.get(username="newcomer")
    assert user.email == "newcomer@example.com"
    assert user.check_password(NEW_PASSWORD)
    membership = Membership.objects.get(user=user)
    assert (membership.organisation, membership.role, membership.client) == (
        alpha.organisation,
        Role.MEMBER,
        alpha.clients[1],
    )
    # And she is logged in, and the invitation is used
    assert client.get("/o/alpha/members/").status_code == 200
    invitation = Invitation.objects.get()
    assert invitation.accepted_by == user
    assert invitation.accepted_at is not None


def test_a_double_submit_joins_once_d4(client, login, alpha):
    login(alpha.owner)
    invite(client, alpha, "twice@example.com", role="admin")
    link = link_of(mail.outbox[0])
    client.logout()
    data = {"username": "twice", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    first = client.post(link, data)
    client.logout()  # the second submission comes from the page, before the first answered
    second = client.post(link, data)
    assert first.status_code == 302
    assert second.status_code == 410
    assert get_user_model().objects.filter(email="twice@example.com").count() == 1
    assert Membership.objects.filter(user__username="twice").count() == 1


def test_accepting_twice_as_the_same_person_creates_one_membership_d4(client, login, alpha):
    # Given an invitation accepted by a new person, who is now logged in
    login(alpha.owner)
    invite(client, alpha, "again@example.com")
    link = link_of(mail.outbox[0])
    client.logout()
    data = {"username": "again", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    client.post(link, data)
    # When she submits once more, then she is taken to the organisation and nothing is added
    response = client.post(link, data)
    assert response.status_code == 302
    assert response["Location"] == "/o/alpha/"
    assert Membership.objects.filter(user__username="again").count() == 1


def test_an_existing_user_logs_in_then_accepts_with_one_click_d4(client, login, alpha, make_user):
    # Given an invitation, as admin, to the e-mail of someone who has an account
    dora = make_user("dora", password=PASSWORD)
    login(alpha.owner)
    invite(client, alpha, "DORA@test.example", role="admin")
    link = link_of(mail.outbox[0])
    client.logout()
    # When she opens the link, she is asked to log in, and comes back to the link
    page = client.get(link)
    assert page.context["state"] == "log_in"
    assert f'href="/login/?next={link}"' in page.content.decode()
    assert (
        client.post("/login/", {"username": "dora", "password": PASSWORD, "next": link})["Location"]
        == link
    )
    # Then one click makes her an admin of Alpha
    assert client.get(link).context["state"] == "accept"
    response = client.post(link)
    assert response.status_code == 302
    assert response["Location"] == "/o/alpha/"
    assert Membership.objects.get(user=dora).role == Role.ADMIN
    assert get_user_model().objects.filter(email__iexact="dora@test.example").count() == 1


def test_an_invitation_to_an_accounts_e_mail_is_not_taken_by_another_account_x5(
    client, login, alpha, make_user
):
    # Given an invitation to Dora's e-mail, and Eve logged in with her own account
    make_user("dora")
    eve = make_user("eve", password=PASSWORD)
    login(alpha.owner)
    invite(client, alpha, "dora@test.example")
    link = link_of(mail.outbox[0])
    client.logout()
    login(eve)
    # When Eve opens the link and submits, then she is told it is not hers and nothing happens
    assert client.get(link).context["state"] == "wrong_person"
    assert client.post(link).status_code == 200
    assert not Membership.objects.filter(user=eve).exists()
    assert Invitation.objects.get().accepted_at is None


def test_a_weak_password_is_refused_and_nothing_is_created_d4(client, login, alpha):
    login(alpha.owner)
    invite(client, alpha, "weak@example.com")
    link = link_of(mail.outbox[0])
    client.logout()
    response = client.post(link, {"username": "weak", "password1": "123", "password2": "123"})
    assert response.status_code == 400
    assert "password2" in response.context["form"].errors
    assert not get_user_model().objects.filter(username="weak").exists()
    assert Invitation.objects.get().accepted_at is None


def test_a_taken_username_is_a_form_error_d4(client, login, alpha):
    login(alpha.owner)
    invite(client, alpha, "taken@example.com")
    link = link_of(mail.outbox[0])
    client.logout()
    data = {"username": "alpha-admin", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = client.post(link, data)
    assert response.status_code == 400
    assert "username" in response.context["form"].errors
    assert Invitation.objects.get().accepted_at is None


@pytest.mark.parametrize(
    ("spoil", "status", "says"),
    [
        ("expire", 410, "This invitation has expired"),
        ("cancel", 410, "This invitation was cancelled"),
        ("use", 410, "This invitation has already been used"),
        ("unknown", 404, "This invitation does not exist"),
    ],
)
def test_expired_cancelled_used_and_unknown_links_are_refused_plainly_d4(
    client, login, alpha, make_user, spoil, status, says
):
    # Given an invitation's link, spoiled one way
    login(alpha.owner)
    invite(client, alpha, "late@example.com")
    link = link_of(mail.outbox[0])
    invitation = Invitation.objects.get()
    now = timezone.now()
    if spoil == "expire":
        Invitation.objects.update(expires_at=now - timedelta(seconds=1))
    elif spoil == "cancel":
        member_services.cancel_invitation(invitation=invitation, now=now)
    elif spoil == "use":
        member_services.accept_invitation(token=token_of(link), user=make_user("late"), now=now)
    else:
        link = "/invitations/" + "x" * 43 + "/"
    client.logout()
    before = Membership.objects.count()
    # When someone opens it, or submits it
    page = client.get(link)
    posted = client.post(
        link, {"username": "late2", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    # Then a styled page says why, and nothing is created
    assert (page.status_code, posted.status_code) == (status, status)
    assert says in page.content.decode()
    assert 'class="error-page"' in page.content.decode()
    assert Membership.objects.count() == before
    assert not get_user_model().objects.filter(username="late2").exists()


def test_a_very_long_token_is_simply_unknown(client):
    assert client.get("/invitations/" + "a" * 5000 + "/").status_code == 404


# --- Changing a member ------------------------------------------------------------------


def test_the_owner_changes_a_members_role_d4(client, login, alpha):
    login(alpha.owner)
    member = alpha.membership(alpha.member)
    assert client.get(url(alpha, f"{member.pk}/")).status_code == 200
    response = client.post(url(alpha, f"{member.pk}/"), {"role": "admin"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == Role.ADMIN


def test_promoting_a_tied_member_clears_the_tie_d4(client, login, alpha):
    login(alpha.owner)
    tied = alpha.membership(alpha.tied)
    client.post(url(alpha, f"{tied.pk}/"), {"role": "admin", "client": ""})
    tied.refresh_from_db()
    assert (tied.role, tied.client) == (Role.ADMIN, None)


def test_the_service_clears_the_tie_when_promoting_d4(alpha):
    tied = alpha.membership(alpha.tied)
    member_services.change_member(membership=tied, role=Role.OWNER, client=alpha.clients[0])
    tied.refresh_from_db()
    assert (tied.role, tied.client) == (Role.OWNER, None)


def test_a_member_tied_to_a_client_then_sees_only_it_d4(client, login, alpha):
    # Given the owner ties a plain member to the second list
    login(alpha.owner)
    member = alpha.membership(alpha.member)
    response = client.post(
        url(alpha, f"{member.pk}/"), {"role": "member", "client": alpha.clients[1].pk}
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.client == alpha.clients[1]
    assert list(visible_clients(member)) == [alpha.clients[1]]
    client.logout()
    # When that member looks for the lists
    login(alpha.member)
    # Then she finds that one only: the other's page does not exist for her
    listed = client.get("/o/alpha/clients/")
    assert listed.status_code == 200
    assert "Alpha two" in listed.content.decode()
    assert "Alpha one" not in listed.content.decode()
    assert client.get(f"/o/alpha/clients/{alpha.clients[0].pk}/").status_code == 404
    assert client.get(f"/o/alpha/clients/{alpha.clients[1].pk}/").status_code == 200


def test_the_last_owner_cannot_be_demoted_d4(client, login, alpha):
    # Given Alpha's only owner
    login(alpha.owner)
    owner = alpha.membership(alpha.owner)
    # When she makes herself an admin
    response = client.post(url(alpha, f"{owner.pk}/"), {"role": "admin"})
    # Then the form says why not, and she is still the owner
    assert response.status_code == 400
    assert "An organisation must keep at least one owner." in response.content.decode()
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_an_owner_may_step_down_when_another_owner_remains_d4(client, login, alpha):
    login(alpha.owner)
    member_services.change_role(membership=alpha.membership(alpha.admin), role=Role.OWNER)
    owner = alpha.membership(alpha.owner)
    assert client.post(url(alpha, f"{owner.pk}/"), {"role": "member"}).status_code == 302
    owner.refresh_from_db()
    assert owner.role == Role.MEMBER
    # And, no longer an owner, she cannot manage members
    assert client.get(url(alpha, "invite/")).status_code == 403


@pytest.mark.parametrize(
    "fields",
    [
        {"role": "superuser"},
        {"role": "x" * 5000},
        {"role": "member", "client": "text"},
        {"role": "member", "client": -1},
        {"role": "member", "client": 10**20},
        {"role": "admin", "client": "OWN"},
    ],
)
def test_bad_changes_get_a_form_error_and_change_nothing_x5(client, login, alpha, fields):
    login(alpha.owner)
    member = alpha.membership(alpha.member)
    if fields.get("client") == "OWN":
        fields = {**fields, "client": alpha.clients[0].pk}
    before = figures(alpha.organisation)
    response = client.post(url(alpha, f"{member.pk}/"), fields)
    assert response.status_code == 400
    member.refresh_from_db()
    assert (member.role, member.client) == (Role.MEMBER, None)
    assert figures(alpha.organisation) == before


def test_another_organisations_client_cannot_be_tied_x5(client, login, alpha, bravo):
    login(alpha.owner)
    member = alpha.membership(alpha.member)
    response = client.post(
        url(alpha, f"{member.pk}/"), {"role": "member", "client": bravo.clients[0].pk}
    )
    assert response.status_code == 400
    member.refresh_from_db()
    assert member.client is None


def test_another_organisations_member_is_404_under_ones_own_slug_x5(client, login, alpha, bravo):
    login(alpha.owner)
    foreign = bravo.membership(bravo.member)
    for path in (f"{foreign.pk}/", f"{foreign.pk}/remove/"):
        assert client.get(url(alpha, path)).status_code == 404
        assert client.post(url(alpha, path), {"role": "owner"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.role == Role.MEMBER


# --- Removing ---------------------------------------------------------------------------


def test_the_owner_removes_a_member_after_confirming_d4(client, login, alpha):
    login(alpha.owner)
    member = alpha.membership(alpha.member)
    page = client.get(url(alpha, f"{member.pk}/remove/"))
    assert page.status_code == 200
    assert "will no longer see Alpha" in page.content.decode()
    response = client.post(url(alpha, f"{member.pk}/remove/"))
    assert response.status_code == 302
    assert response["Location"] == url(alpha)
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_the_last_owner_cannot_be_removed_d4(client, login, alpha):
    login(alpha.owner)
    owner = alpha.membership(alpha.owner)
    before = figures(alpha.organisation)
    response = client.post(url(alpha, f"{owner.pk}/remove/"))
    assert response.status_code == 400
    assert "An organisation must keep at least one owner." in response.content.decode()
    assert Membership.objects.filter(pk=owner.pk, role=Role.OWNER).exists()
    assert figures(alpha.organisation) == before


def test_removing_yourself_takes_you_out_of_the_organisation_and_keeps_your_history_d4(
    client, login, alpha
):
    # Given a second owner, and the first owner's consumptions in the ledger
    member_services.change_role(membership=alpha.membership(alpha.admin), role=Role.OWNER)
    entries = LedgerEntry.objects.filter(actor=alpha.owner).count()
    assert entries > 0
    login(alpha.owner)
    owner = alpha.membership(alpha.owner)
    # When the first owner leaves
    response = client.post(url(alpha, f"{owner.pk}/remove/"))
    # Then she is sent home, Alpha is no longer hers, and what she did stays, under her name
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get(url(alpha)).status_code == 404
    assert LedgerEntry.objects.filter(actor=alpha.owner).count() == entries


# --- Cancelling an invitation -----------------------------------------------------------


def test_the_owner_cancels_an_invitation_and_its_link_stops_working_d4(client, login, alpha):
    login(alpha.owner)
    invite(client, alpha, "cancel@example.com")
    link = link_of(mail.outbox[0])
    invitation = Invitation.objects.get()
    cancel = url(alpha, f"invitations/{invitation.pk}/cancel/")
    assert client.get(cancel).status_code == 200
    assert client.post(cancel).status_code == 302
    invitation.refresh_from_db()
    assert invitation.cancelled_at is not None
    assert client.get(url(alpha)).context["page"].invitations == []
    client.logout()
    assert client.get(link).status_code == 410
    # And cancelling twice says it is closed
    login(alpha.owner)
    assert client.post(cancel).status_code == 400


def test_another_organisations_invitation_is_404_x5(client, login, alpha, bravo):
    login(bravo.owner)
    invite(client, bravo, "bravo-guest@example.com")
    foreign = Invitation.objects.get()
    client.logout()
    login(alpha.owner)
    for action in ("cancel", "send-again"):
        path = url(alpha, f"invitations/{foreign.pk}/{action}/")
        assert client.get(path).status_code == 404
        assert client.post(path).status_code == 404
    foreign.refresh_from_db()
    assert foreign.is_open
    assert len(mail.outbox) == 1


# --- Roles ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "member", "tied"])
def test_only_owners_manage_members_x5(client, login, alpha, who):
    # Given an admin or a member, and an invitation and a member to act on
    login(alpha.owner)
    invite(client, alpha, "someone@example.com")
    invitation = Invitation.objects.get()
    client.logout()
    login(getattr(alpha, who))
    member = alpha.membership(alpha.member)
    paths = [
        "invite/",
        f"{member.pk}/",
        f"{member.pk}/remove/",
        f"invitations/{invitation.pk}/cancel/",
        f"invitations/{invitation.pk}/send-again/",
    ]
    # When they open or submit any management page, then the answer is 403
    for path in paths:
        assert client.get(url(alpha, path)).status_code == 403, path
        assert (
            client.post(url(alpha, path), {"role": "owner", "email": "x@example.com"}).status_code
            == 403
        )
    # And the list itself they may read; nothing changed
    assert client.get(url(alpha)).status_code == 200
    member.refresh_from_db()
    invitation.refresh_from_db()
    assert member.role == Role.MEMBER
    assert invitation.is_open
    assert Invitation.objects.count() == 1
    assert len(mail.outbox) == 1


# --- Races (PostgreSQL) -----------------------------------------------------------------


def _race(count: int, action) -> list[object]:
    """Run `action(index)` in `count` threads released together; their results or errors."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = action(index)
        except BaseException as error:  # compared by the test
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_six_people_racing_for_one_invitation_make_one_membership_d4(make_organisation):
    # Given one invitation, and six submissions of its link at the same moment
    organisation = make_organisation("race")
    now = timezone.now()
    _invitation, token = member_services.record_invitation(
        organisation=organisation,
        email="racer@example.com",
        role=Role.MEMBER,
        client=None,
        invited_by=None,
        link_base="http://testserver",
        now=now,
    )
    results = _race(
        6,
        lambda i: member_services.accept_invitation_as_new_user(
            token=token, username=f"racer{i}", password=NEW_PASSWORD, now=now
        ),
    )
    # Then one joins, the others are told the invitation is used, and no stray account remains
    joined = [r for r in results if isinstance(r, Membership)]
    refused = [r for r in results if isinstance(r, InvitationClosedError)]
    assert (len(joined), len(refused)) == (1, 5)
    assert Membership.objects.filter(organisation=organisation, role=Role.MEMBER).count() == 1
    assert get_user_model().objects.filter(email="racer@example.com").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner_d4(make_organisation, make_user):
    organisation = make_organisation("owners")
    second = member_services.add_member(
        organisation=organisation, user=make_user("second"), role=Role.OWNER
    )
    owners = list(Membership.objects.filter(organisation=organisation, role=Role.OWNER))
    assert second in owners
    results = _race(2, lambda i: member_services.change_role(membership=owners[i], role=Role.ADMIN))
    assert sum(isinstance(r, Membership) for r in results) == 1
    assert Membership.objects.filter(organisation=organisation, role=Role.OWNER).count() == 1
