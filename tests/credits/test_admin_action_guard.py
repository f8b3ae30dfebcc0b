"""Issue 13, K1, X1: a billable action that was consumed cannot be deleted (consumptions name
it by its code): the admin refuses it and suggests deactivating it, and a database trigger
refuses the DELETE as the last line of defence (SQLite here; PostgreSQL under
`scripts/with-test-services`, which runs the same tests on it)."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from credits import services
from credits.models import BillableAction, Consumption, LotSource

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, make_user):
    client.force_login(make_user("backoffice", is_staff=True, is_superuser=True))


@pytest.fixture
def consumed(make_organisation, now):
    """A data provider whose "data export" was consumed once (without a quote)."""
    organisation = make_organisation("datarama", preset="data_provider")
    services.grant(organisation=organisation, credits=100, source=LotSource.PURCHASE, now=now)
    services.consume(
        client=organisation.clients.get(kind="own"),
        action="data_export",
        params={"rows": 3},
        now=now,
    )
    return BillableAction.objects.get(organisation=organisation, code="data_export")


REFUSAL = (
    "1 consumption was made with “Data export (data_export)”: "
    "deactivate the action instead (untick “active”)."
)


def test_deleting_a_consumed_action_in_admin_is_refused_with_the_reason_k1(client, staff, consumed):
    # given a data export consumed once
    url = reverse("admin:credits_billableaction_delete", args=[consumed.pk])
    # when staff open its delete page and confirm anyway
    opened = client.get(url)
    confirmed = client.post(url, {"post": "yes"})
    # then the page says why it cannot go and what to do, and the action is still there
    assert REFUSAL in opened.content.decode()
    assert confirmed.status_code == 200
    assert REFUSAL in confirmed.content.decode()
    assert BillableAction.objects.filter(pk=consumed.pk).exists()


def test_deleting_consumed_actions_in_bulk_is_refused_k1(client, staff, consumed):
    # given a consumed data export and an unused CRM enrichment of the same card
    unused = BillableAction.objects.get(organisation=consumed.organisation, code="crm_enrichment")
    # when staff "delete selected" both and confirm
    response = client.post(
        reverse("admin:credits_billableaction_changelist"),
        {"action": "delete_selected", "_selected_action": [consumed.pk, unused.pk], "post": "yes"},
    )
    # then the refusal is shown and neither is deleted
    assert REFUSAL in response.content.decode()
    assert BillableAction.objects.filter(pk__in=[consumed.pk, unused.pk]).count() == 2


def test_the_database_refuses_to_delete_a_consumed_action_and_only_that_x1(
    consumed, make_organisation
):
    # given a data export consumed once, an unused action of the same card, and another
    # organisation's data export never consumed there
    unused = BillableAction.objects.get(organisation=consumed.organisation, code="crm_enrichment")
    other = make_organisation("second", preset="data_provider")
    elsewhere = BillableAction.objects.get(organisation=other, code="data_export")
    # when the ORM deletes each behind the admin's back
    with pytest.raises(IntegrityError, match="billable action"), transaction.atomic():
        BillableAction.objects.filter(pk=consumed.pk).delete()
    unused.delete()
    elsewhere.delete()
    # then only the consumed one is still there, with its consumption: the trigger looks at
    # the action's own code within its own organisation
    remaining = BillableAction.objects.filter(pk__in=[consumed.pk, unused.pk, elsewhere.pk])
    assert list(remaining.values_list("pk", flat=True)) == [consumed.pk]
    assert Consumption.objects.filter(action_code="data_export").count() == 1


def test_a_consumed_action_keeps_its_code_in_admin_and_in_the_database_x1(client, staff, consumed):
    """X1, issue 13: renamed, a consumed action would no longer name its consumptions, and
    could then be deleted: the admin shows its code read-only and the trigger refuses the
    change; an unused action of the same card can still be renamed."""
    # given a consumed data export and an unused CRM enrichment
    unused = BillableAction.objects.get(organisation=consumed.organisation, code="crm_enrichment")
    # when staff open the consumed one, and a raw update tries to rename it
    page = client.get(reverse("admin:credits_billableaction_change", args=[consumed.pk]))
    with pytest.raises(IntegrityError), transaction.atomic():
        BillableAction.objects.filter(pk=consumed.pk).update(code="data_export_old")
    BillableAction.objects.filter(pk=unused.pk).update(code="crm_enrichment_v2")
    # then the code is not a field of its form, it is unchanged, and the unused one was renamed
    assert 'name="code"' not in page.content.decode()
    assert BillableAction.objects.get(pk=consumed.pk).code == "data_export"
    assert BillableAction.objects.get(pk=unused.pk).code == "crm_enrichment_v2"
