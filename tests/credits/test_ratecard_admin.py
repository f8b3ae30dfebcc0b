"""K1: rate cards, SMS rate tables (CSV in and out) and the "try this action" form."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from credits.models import BillableAction, Quote, SmsRate

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, make_user):
    client.force_login(make_user("backoffice", is_staff=True, is_superuser=True))


@pytest.fixture
def sms_org(make_organisation):
    return make_organisation("texto", preset="sms")


def test_sms_rates_export_and_import_round_trip_s1(client, staff, sms_org):
    rates = SmsRate.objects.filter(organisation=sms_org)
    response = client.post(
        reverse("admin:credits_smsrate_changelist"),
        {"action": "export_csv", "_selected_action": list(rates.values_list("pk", flat=True))},
    )
    exported = response.content.decode()
    assert exported.splitlines()[:3] == [
        "country,name,calling_code,credits_per_segment",
        "BE,Belgium,32,2",
        "CH,Switzerland,41,3",
    ]
    changed = exported.replace("CH,Switzerland,41,3", "CH,Switzerland,41,4") + "JP,Japan,81,5\n"
    response = client.post(
        reverse("admin:credits_smsrate_import"),
        {"organisation": sms_org.pk, "file": SimpleUploadedFile("rates.csv", changed.encode())},
    )
    assert response.status_code == 302
    assert dict(rates.values_list("country", "credits_per_segment"))["CH"] == 4
    assert rates.get(country="JP").calling_code == "81"
    assert rates.count() == 9


def test_a_csv_with_one_bad_line_is_refused_whole_x6(client, staff, sms_org):
    before = sorted(SmsRate.objects.values_list("country", "credits_per_segment"))
    bad = "country,name,calling_code,credits_per_segment\nFR,France,33,7\nXX1,Nowhere,999,abc\n"
    response = client.post(
        reverse("admin:credits_smsrate_import"),
        {"organisation": sms_org.pk, "file": SimpleUploadedFile("rates.csv", bad.encode())},
    )
    assert response.status_code == 200
    assert "Line 3:" in response.content.decode()
    assert sorted(SmsRate.objects.values_list("country", "credits_per_segment")) == before


def test_trying_an_action_in_admin_shows_its_quote_c5(client, staff, sms_org):
    action = BillableAction.objects.get(organisation=sms_org, code="sms")
    own = sms_org.clients.get(kind="own")
    response = client.post(
        reverse("admin:credits_billableaction_try", args=[action.pk]),
        {"client": own.pk, "p_country": "CH", "p_text": "Hello"},
    )
    page = response.content.decode()
    assert '<td id="quote-credits">3 credits</td>' in page
    assert "Not enough credits: 3 needed, 0 available (3 short)." in page
    assert Quote.objects.get().credits == 3


def test_a_per_unit_action_without_its_unit_parameter_is_refused_in_admin_x6(
    client, staff, sms_org
):
    response = client.post(
        reverse("admin:credits_billableaction_add"),
        {
            "organisation": sms_org.pk,
            "code": "export",
            "name": "Export",
            "rule": "per_unit",
            "credits": 2,
            "unit_param": "",
            "table_params": "[]",
            "is_active": "on",
            "prices-TOTAL_FORMS": 0,
            "prices-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert "A per-unit rule needs the parameter that counts the units." in response.content.decode()
    assert not BillableAction.objects.filter(code="export").exists()


def test_a_table_action_and_its_prices_are_created_together_in_admin_d2(client, staff, sms_org):
    response = client.post(
        reverse("admin:credits_billableaction_add"),
        {
            "organisation": sms_org.pk,
            "code": "voice",
            "name": "Voice message",
            "rule": "table",
            "credits": 0,
            "unit_param": "minutes",
            "table_params": '["country"]',
            "is_active": "on",
            "prices-TOTAL_FORMS": 2,
            "prices-INITIAL_FORMS": 0,
            "prices-0-match": '{"country": "FR"}',
            "prices-0-credits": 3,
            "prices-1-match": '{"country": "DE"}',
            "prices-1-credits": 5,
        },
    )
    assert response.status_code == 302
    action = BillableAction.objects.get(code="voice")
    assert sorted(action.prices.values_list("match_key", "credits")) == [
        ("country=DE", 5),
        ("country=FR", 3),
    ]
