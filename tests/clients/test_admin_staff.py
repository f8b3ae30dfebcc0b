# ruff: noqa: F811  (make_portal is a fixture imported from tests.portal.conftest)
"""Issue 13 (K1, X6): the clients' back office refuses with form errors, never beside
"changed successfully"; people the ledger names are deactivated, not deleted; the staff
groups hold exactly the permissions of the shared table."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from billing import services as billing_services
from billing.models import BillingProfile, Invoice
from clients.models import Client, ClientKind, Membership, Role
from credits.models import Consumption, LedgerEntry
from tests.portal.conftest import make_portal  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db

User = get_user_model()
READ_APPS = ["clients", "credits", "billing", "api", "webhooks", "axes"]
LAST_OWNER = "An organisation must keep at least one owner: Alpha would have none."


@pytest.fixture
def superstaff(client, make_user):
    person = make_user("backoffice", is_staff=True, is_superuser=True)
    client.force_login(person)
    return person


def memberships():
    return sorted(Membership.objects.values_list("user__username", "role", "client_id"))


# --- Refusals are form errors ----------------------------------------------------------


def test_demoting_the_last_owner_is_a_form_error_with_nothing_changed_or_logged_issue_13(
    client, superstaff, make_portal
):
    """Issue 13: no "changed successfully", no LogEntry, the owner stays owner."""
    # given an organisation whose only owner is alpha-owner
    portal = make_portal("alpha")
    owner = portal.membership(portal.owner)
    before = memberships()
    # when staff make the owner an admin
    response = client.post(
        reverse("admin:clients_membership_change", args=[owner.pk]),
        {"role": Role.ADMIN, "client": ""},
        follow=True,
    )
    # then the form says why, and nothing moved
    html = response.content.decode()
    assert response.status_code == 200
    assert LAST_OWNER in html
    assert "errorlist" in html
    assert "successfully" not in html
    assert memberships() == before
    assert LogEntry.objects.count() == 0


def test_deleting_the_last_owners_membership_is_a_page_that_says_why_issue_13(
    client, superstaff, make_portal
):
    """Issue 13: the delete page and its POST refuse; the membership stays."""
    # given an organisation whose only owner is alpha-owner
    portal = make_portal("alpha")
    owner = portal.membership(portal.owner)
    before = memberships()
    url = reverse("admin:clients_membership_delete", args=[owner.pk])
    # when staff open the delete page, and confirm it anyway
    page = client.get(url)
    confirmed = client.post(url, {"post": "yes"})
    # then both say why, and nothing was deleted or logged
    assert (page.status_code, confirmed.status_code) == (200, 409)
    for answer in (page, confirmed):
        assert LAST_OWNER in answer.content.decode()
        assert "Nothing was deleted." in answer.content.decode()
    assert memberships() == before
    assert LogEntry.objects.count() == 0


def test_bulk_deleting_the_last_owners_membership_deletes_none_issue_13(
    client, superstaff, make_portal
):
    """Issue 13: all or none; the error alone, no "Successfully deleted"."""
    # given the owner's and the member's memberships
    portal = make_portal("alpha")
    chosen = [portal.membership(portal.owner).pk, portal.membership(portal.member).pk]
    before = memberships()
    # when staff delete both at once, confirmed
    response = client.post(
        reverse("admin:clients_membership_changelist"),
        {"action": "delete_selected", "_selected_action": chosen, "post": "yes"},
        follow=True,
    )
    # then the error is shown alone, and both stay
    html = response.content.decode()
    assert LAST_OWNER in html
    assert "Successfully deleted" not in html
    assert memberships() == before
    assert LogEntry.objects.count() == 0


def test_deactivating_the_own_client_is_a_form_error_with_nothing_changed_issue_13(
    client, superstaff, make_portal
):
    """Issue 13 (G1): the own client stays active; no success message, no LogEntry."""
    # given the organisation's own client
    portal = make_portal("alpha")
    own = portal.own
    # when staff untick "active" on it
    response = client.post(
        reverse("admin:clients_client_change", args=[own.pk]),
        {
            "name": own.name,
            "kind": ClientKind.OWN,
            "access_mode": own.access_mode,
            "external_id": "",
        },
        follow=True,
    )
    # then the form says why, and the client is still active
    html = response.content.decode()
    assert (
        "The organisation&#x27;s own client cannot be deactivated: it is created with the "
        "organisation and spends for it." in html
    )
    assert "successfully" not in html
    assert Client.objects.get(pk=own.pk).is_active is True
    assert LogEntry.objects.count() == 0


def test_a_name_taken_in_the_organisation_is_a_form_error_not_a_constraint_name_issue_13(
    client, superstaff, make_portal
):
    """Issue 13 (X6): renaming a client to a sibling's name says so in staff's words."""
    # given two clients of one organisation
    portal = make_portal("alpha")
    first, second = portal.clients
    # when staff rename the second to the first's name
    response = client.post(
        reverse("admin:clients_client_change", args=[second.pk]),
        {"name": first.name, "kind": second.kind, "access_mode": second.access_mode},
    )
    # then the form says the name is used, no constraint's name, and nothing changed
    html = response.content.decode()
    assert response.status_code == 200
    assert "This name is already used in this organisation." in html
    assert "Constraint" not in html
    assert Client.objects.get(pk=second.pk).name == "Alpha two"
    assert LogEntry.objects.count() == 0


def test_a_name_taken_by_a_concurrent_request_is_a_form_error_at_save_issue_13(
    client, superstaff, make_portal, monkeypatch
):
    """Issue 13 (X6): two staff adding one name at once both pass the form's check; the
    service refuses the second at save time (40 concurrent creations gave 22 × 500). The
    refusal is shown on the add form with the input kept: no client, no LogEntry, no
    "added successfully"."""
    # given an organisation, and a form check that, as in a race, has not seen the sibling
    portal = make_portal("alpha")
    first = portal.clients[0]
    clients_before = Client.objects.count()
    monkeypatch.setattr(Client, "validate_constraints", lambda client, exclude=None: None)
    # when staff add a client with the name the first one has
    response = client.post(
        reverse("admin:clients_client_add"),
        {
            "organisation": portal.organisation.pk,
            "name": first.name,
            "kind": first.kind,
            "access_mode": first.access_mode,
        },
    )
    # then the add form says the name is taken, and nothing was created or logged
    html = response.content.decode()
    assert response.status_code == 200
    assert f"The name “{first.name}” is already used in this organisation." in html
    assert "errorlist" in html
    assert "successfully" not in html
    assert Client.objects.count() == clients_before
    assert LogEntry.objects.count() == 0


# --- People the ledger names are deactivated, not deleted -------------------------------


def test_deleting_a_person_the_ledger_names_deactivates_them_with_the_reason_issue_13(
    client, superstaff, make_portal
):
    """Issue 13: no 500; the person is kept, inactive, out of the organisation; the
    ledger's rows still name them."""
    # given the admin of an organisation, who consumed credits
    portal = make_portal("alpha")
    person = portal.admin
    from credits import services as credit_services

    consumed = credit_services.consume(
        client=portal.clients[0],
        action="sms",
        params={"text": "Hi", "recipients": ["FR"]},
        actor=person,
        now=timezone.now(),
    )
    entries = LedgerEntry.objects.count()
    # when staff delete them
    response = client.post(
        reverse("admin:auth_user_delete", args=[person.pk]), {"post": "yes"}, follow=True
    )
    # then they are deactivated, told why, and the ledger still names them
    html = response.content.decode()
    assert response.status_code == 200
    assert "Deactivated, not deleted: alpha-admin. The ledger names this person" in html
    assert "deleted successfully" not in html
    person.refresh_from_db()
    assert person.is_active is False
    assert not Membership.objects.filter(user=person).exists()
    assert Consumption.objects.get(pk=consumed.pk).actor_id == person.pk
    assert LedgerEntry.objects.count() == entries
    assert list(LogEntry.objects.values_list("object_id", "action_flag")) == [(str(person.pk), 2)]


def test_deleting_a_person_the_ledger_does_not_name_deletes_them_issue_13(
    client, superstaff, make_portal
):
    """Issue 13: as before for someone who never acted on the ledger."""
    # given a member who never consumed nor bought
    portal = make_portal("alpha")
    person = portal.member
    # when staff delete them
    response = client.post(
        reverse("admin:auth_user_delete", args=[person.pk]), {"post": "yes"}, follow=True
    )
    # then they are gone, with Django's message
    assert "was deleted successfully" in response.content.decode()
    assert not User.objects.filter(pk=person.pk).exists()


def test_bulk_delete_deletes_some_and_deactivates_those_the_ledger_names_issue_13(
    client, superstaff, make_portal
):
    """Issue 13: one list, both outcomes, each said."""
    # given the owner's member (never in the ledger) and the purchaser (in the ledger)
    portal = make_portal("alpha")
    BillingProfile.objects.filter(pk=billing_services.profile_of(portal.organisation).pk).update(
        enterprise_terms=True
    )
    from demo.catalogue import install_catalogue

    install_catalogue()
    billing_services.purchase(
        organisation=portal.organisation,
        credits=100,
        method="enterprise_terms",
        actor=portal.admin,
        now=timezone.now(),
    )
    # when staff delete both, confirmed
    response = client.post(
        reverse("admin:auth_user_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [portal.member.pk, portal.admin.pk],
            "post": "yes",
        },
        follow=True,
    )
    # then the member is deleted, the purchaser deactivated, and both are said
    html = response.content.decode()
    assert "Successfully deleted 1 user." in html
    assert "Deactivated, not deleted: alpha-admin." in html
    assert not User.objects.filter(pk=portal.member.pk).exists()
    assert User.objects.get(pk=portal.admin.pk).is_active is False


def test_deleting_the_last_owner_of_an_organisation_is_refused_issue_13(
    client, superstaff, make_portal
):
    """Issue 13: a person whose leaving would leave an organisation without owner stays."""
    # given the only owner
    portal = make_portal("alpha")
    # when staff delete them
    response = client.post(
        reverse("admin:auth_user_delete", args=[portal.owner.pk]), {"post": "yes"}
    )
    # then the page says why and nothing changed
    assert response.status_code == 409
    assert LAST_OWNER in response.content.decode()
    assert User.objects.get(pk=portal.owner.pk).is_active is True
    assert Membership.objects.filter(user=portal.owner, role=Role.OWNER).count() == 1


# --- Staff groups ------------------------------------------------------------------------


def _codes(queryset) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in queryset}


def _reading() -> set[str]:
    return _codes(
        Permission.objects.filter(
            content_type__app_label__in=[
                "clients",
                "credits",
                "billing",
                "api",
                "webhooks",
                "axes",
            ],
            codename__startswith="view_",
        )
    ) | {"auth.view_user"}


def test_the_four_staff_groups_hold_exactly_the_tables_permissions_issue_13():
    """Issue 13 (perms.md): Support reads; Billing, Rate cards, Ledger corrections add
    exactly their own."""
    # given the migrated database
    # when the groups are read
    groups = {
        g.name: _codes(g.permissions.select_related("content_type")) for g in Group.objects.all()
    }
    # then each holds reading plus exactly its own permissions
    reading = _reading()
    assert "credits.view_lot" in reading
    assert "axes.view_accessattempt" in reading
    assert groups == {
        "Support": reading,
        "Billing": reading
        | {
            f"billing.{verb}_{model}"
            for verb in ("add", "change")
            for model in ("invoice", "purchase", "billingprofile", "subscription")
        },
        "Rate cards": reading
        | {
            f"credits.{verb}_{model}"
            for verb in ("add", "change", "delete")
            for model in ("billableaction", "actionprice", "smsrate")
        }
        | {"credits.add_consumption"},
        "Ledger corrections": reading
        | {"credits.change_creditpool", "credits.change_clientaccount", "credits.change_hold"},
    }


@pytest.fixture
def open_invoice(make_organisation, catalogue):
    organisation = make_organisation("deepetch", preset="translation")
    BillingProfile.objects.filter(pk=billing_services.profile_of(organisation).pk).update(
        enterprise_terms=True
    )
    bought = billing_services.purchase(
        organisation=organisation, credits=100, method="enterprise_terms", now=timezone.now()
    )
    return bought.invoice


def _void(client, invoice):
    return client.post(
        reverse("admin:billing_invoice_changelist"),
        {
            "action": "void_with_credit_note",
            "index": "0",
            "_selected_action": [invoice.pk],
            "apply": "Void",
            "reason": "Wrong quantity",
        },
    )


def test_billing_staff_void_an_invoice_and_support_staff_get_403_issue_13(
    client, make_user, open_invoice
):
    """Issue 13: the groups are what the admin obeys."""
    # given one person in "Support" and one in "Billing"
    support = make_user("support", is_staff=True)
    support.groups.add(Group.objects.get(name="Support"))
    billing = make_user("billing", is_staff=True)
    billing.groups.add(Group.objects.get(name="Billing"))
    # when Support voids the invoice
    client.force_login(support)
    refused = _void(client, open_invoice)
    # then 403, and the invoice is still open
    assert refused.status_code == 403
    assert Invoice.objects.get(pk=open_invoice.pk).status == "open"
    # when Billing voids it
    client.force_login(billing)
    done = _void(client, open_invoice)
    # then it is void, with its credit note
    assert done.status_code == 302
    assert sorted(Invoice.objects.values_list("kind", "status")) == [
        ("credit_note", "paid"),
        ("invoice", "void"),
    ]


def test_the_admin_index_reads_in_french_for_clients_billing_api_and_webhooks_issue_13(
    client, superstaff
):
    """Issue 13: apps' and models' names in French on /admin/."""
    # given staff reading in French
    client.cookies["django_language"] = "fr"
    # when they open the admin's index
    html = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    # then the apps and their models are named in French
    for label in (
        "Organisations et clients",
        "Adhésions",
        "Invitations",
        "Facturation",
        "Factures",
        "Achats",
        "API REST",
        "Clés d’API",
        "Requêtes d’API mémorisées",
        "Webhooks",
        "Envois de webhook",
    ):
        assert label in html, label
