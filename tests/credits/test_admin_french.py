"""Issue 13: the credits back office reads in French when staff read French: models, column
headers, actions, custom pages (the catalogue's French; the strings of issue 13 come from
/work/briefs/fr/i13-admin-credits.po, merged into locale/ by the lead)."""

import pytest
from django.urls import reverse

from credits.models import BillableAction

pytestmark = pytest.mark.django_db

FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr"}
NBSP = "\u00a0"


@pytest.fixture
def staff(client, make_user):
    client.force_login(make_user("backoffice", is_staff=True, is_superuser=True))


def test_the_credits_admin_index_and_pools_read_in_french_issue13(client, staff, organisation):
    # given an organisation with its pool, and staff whose browser asks for French
    # when they open the admin's index and the pools' list
    index = client.get(reverse("admin:index"), **FRENCH).content.decode()
    pools = client.get(reverse("admin:credits_creditpool_changelist"), **FRENCH)
    page = pools.content.decode()
    # then the app, its models, the columns and the actions are in French
    for label in ("Crédits", "Paniers de crédits", "Écritures du registre", "Tarifs SMS"):
        assert label in index, label
    for label in (
        "Non attribué",
        "Solde",
        "Ajuster les crédits (correction motivée)",
        "Faire expirer maintenant les crédits et réservations échus",
    ):
        assert label in page, label
    assert "Adjust credits" not in page
    assert "Unassigned" not in page


def test_the_credits_admin_custom_pages_read_in_french_issue13(client, staff, make_organisation):
    # given the SMS rate card, and staff whose browser asks for French
    organisation = make_organisation("texto", preset="sms")
    action = BillableAction.objects.get(organisation=organisation, code="sms")
    # when they open the action, "Try this action", the SMS rates and their import
    change = client.get(
        reverse("admin:credits_billableaction_change", args=[action.pk]), **FRENCH
    ).content.decode()
    tried = client.get(
        reverse("admin:credits_billableaction_try", args=[action.pk]), **FRENCH
    ).content.decode()
    rates = client.get(reverse("admin:credits_smsrate_changelist"), **FRENCH).content.decode()
    importing = client.get(reverse("admin:credits_smsrate_import"), **FRENCH).content.decode()
    # then each reads in French
    assert "Essayer cette action" in change
    assert f"Essayer «{NBSP}{action.name}{NBSP}»" in tried
    assert "Pays" in tried
    assert "Importer un CSV" in rates
    assert "Exporter les tarifs sélectionnés en CSV" in rates
    assert "Fichier CSV" in importing
    assert "Une seule ligne erronée fait refuser tout le fichier." in importing
