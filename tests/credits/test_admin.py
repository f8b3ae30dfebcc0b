"""K1: the back office reads the ledger and changes it only through the services."""

import pytest
from django.urls import reverse

from clients.models import Organisation
from credits import services
from credits.models import CreditPool, EntryKind, LedgerEntry
from tests.credits.conftest import pool_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, make_user):
    user = make_user("backoffice", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def test_ledger_entries_can_be_read_but_not_added_changed_or_deleted_k1(
    client, staff, organisation, now
):
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    entry = LedgerEntry.objects.get()
    change_url = reverse("admin:credits_ledgerentry_change", args=[entry.pk])
    assert client.get(reverse("admin:credits_ledgerentry_changelist")).status_code == 200
    assert client.get(change_url).status_code == 200  # a read-only view
    assert client.post(change_url, {"credits": 5}).status_code == 403
    assert client.get(reverse("admin:credits_ledgerentry_add")).status_code == 403
    delete_url = reverse("admin:credits_ledgerentry_delete", args=[entry.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert LedgerEntry.objects.get(pk=entry.pk).credits == 100


def test_the_adjust_action_goes_through_the_service_with_the_staff_member_as_actor_k1(
    client, staff, organisation, now
):
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    response = client.post(
        reverse("admin:credits_creditpool_changelist"),
        {
            "action": "adjust_credits",
            "_selected_action": [organisation.pk],
            "apply": "Adjust",
            "credits": -30,
            "reason": "Duplicate order refunded",
        },
    )
    assert response.status_code == 302
    adjustment = LedgerEntry.objects.get(kind=EntryKind.ADJUSTMENT)
    assert (adjustment.credits, adjustment.reference, adjustment.actor) == (
        -30,
        "Duplicate order refunded",
        staff,
    )
    assert pool_of(organisation) == (70, 0, 0)


def test_the_same_adjust_form_sent_twice_adjusts_once_k1_x2(client, staff, organisation, now):
    """K1, X2: the form carries the key its page was shown with, so a double click or a
    reload that sends it again is replayed by the ledger instead of adjusting twice."""
    # given 100 credits and the adjust form as staff see it
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    changelist = reverse("admin:credits_creditpool_changelist")
    shown = client.post(
        changelist, {"action": "adjust_credits", "_selected_action": [organisation.pk]}
    )
    submission = shown.context["form"]["submission"].value()
    sent = {
        "action": "adjust_credits",
        "_selected_action": [organisation.pk],
        "apply": "Adjust",
        "credits": -30,
        "reason": "Duplicate order refunded",
        "submission": str(submission),
    }
    # when that form is sent twice
    first = client.post(changelist, sent)
    second = client.post(changelist, sent)
    # then one adjustment of -30 was made
    assert (first.status_code, second.status_code) == (302, 302)
    assert LedgerEntry.objects.filter(kind=EntryKind.ADJUSTMENT).count() == 1
    assert pool_of(organisation) == (70, 0, 0)


def test_an_adjustment_larger_than_the_unassigned_credits_is_refused_in_admin_x6(
    client, staff, organisation, now
):
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    response = client.post(
        reverse("admin:credits_creditpool_changelist"),
        {
            "action": "adjust_credits",
            "_selected_action": [organisation.pk],
            "apply": "Adjust",
            "credits": -130,
            "reason": "Too much",
        },
        follow=True,
    )
    assert "Not enough credits: 130 needed, 100 available (30 short)." in response.content.decode()
    assert pool_of(organisation) == (100, 0, 0)


def test_creating_an_organisation_in_admin_applies_the_chosen_preset(client, staff):
    response = client.post(
        reverse("admin:clients_organisation_add"),
        {
            "name": "Texto",
            "slug": "texto",
            "currency": "EUR",
            "time_zone": "Europe/Rome",
            "language": "en",
            "owner": staff.pk,
            "preset": "sms",
        },
    )
    assert response.status_code == 302
    pool = CreditPool.objects.get(organisation=Organisation.objects.get(slug="texto"))
    assert (pool.preset, pool.expiry_kind, pool.expiry_months, pool.purchase_extends_expiry) == (
        "sms",
        "after_purchase",
        24,
        True,
    )


def test_every_credits_admin_page_opens_k1(client, staff, organisation, now):
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    for model in (
        "creditpool",
        "clientaccount",
        "lot",
        "ledgerentry",
        "hold",
        "assignment",
        "consumption",
    ):
        assert client.get(reverse(f"admin:credits_{model}_changelist")).status_code == 200, model
    pool_url = reverse("admin:credits_creditpool_change", args=[organisation.pk])
    assert client.get(pool_url).status_code == 200
