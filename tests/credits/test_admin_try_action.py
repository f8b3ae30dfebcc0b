"""Issue 13, C5: "Try this action" asks for the action's own parameters (nothing for a flat
price, a bounded number of units, a choice per table parameter, a country and a text for an
SMS) instead of raw JSON; bad input is a form error and quotes nothing."""

import pytest
from django.urls import reverse

from credits.models import BillableAction, Quote

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, make_user):
    client.force_login(make_user("backoffice", is_staff=True, is_superuser=True))


def action_of(make_organisation, preset: str, code: str) -> BillableAction:
    organisation = make_organisation(preset.replace("_", "-"), preset=preset)
    return BillableAction.objects.get(organisation=organisation, code=code)


def try_url(action: BillableAction) -> str:
    return reverse("admin:credits_billableaction_try", args=[action.pk])


def own_client(action: BillableAction):
    return action.organisation.clients.get(kind="own")


def test_a_flat_action_asks_for_no_parameter_c5(client, staff, make_organisation):
    # given a flat action (an AI summary, 10 credits)
    action = action_of(make_organisation, "crm", "ai_summary")
    other = make_organisation("other").clients.get(kind="own")
    # when staff open "Try this action", post another organisation's client (X5), then the
    # action's own client
    form = client.get(try_url(action)).context["form"]
    foreign = client.post(try_url(action), {"client": other.pk})
    response = client.post(try_url(action), {"client": own_client(action).pk})
    # then the form asks only for the client, refuses the foreign one, and the quote costs
    # the flat price
    assert list(form.fields) == ["client"]
    assert list(foreign.context["form"].errors) == ["client"]
    assert response.status_code == 200
    assert Quote.objects.get().credits == 10


def test_a_per_unit_action_asks_for_its_units_c5(client, staff, make_organisation):
    # given a per-unit action (a data export, 1 credit a row)
    action = action_of(make_organisation, "data_provider", "data_export")
    # when staff quote 25 rows
    form = client.get(try_url(action)).context["form"]
    response = client.post(try_url(action), {"client": own_client(action).pk, "p_rows": "25"})
    # then the form has a whole-number field for the rows, and the quote costs 25
    assert list(form.fields) == ["client", "p_rows"]
    assert '<td id="quote-credits">25 credits</td>' in response.content.decode()
    assert Quote.objects.get().credits == 25


@pytest.mark.parametrize(
    ("units", "error"),
    [
        (str(2**62), "Enter at most 1000000000."),
        (str(2**63), "Enter at most 1000000000."),
        ("9" * 5000, "Enter a whole number."),
        ("0", "Enter at least 1."),
        ("", "This field is required."),
    ],
    ids=["2**62", "2**63", "5000 digits", "zero", "empty"],
)
def test_units_out_of_bounds_are_a_form_error_and_quote_nothing_x6(
    client, staff, make_organisation, units, error
):
    # given a per-unit action
    action = action_of(make_organisation, "data_provider", "data_export")
    # when staff quote an out-of-range number of rows
    response = client.post(try_url(action), {"client": own_client(action).pk, "p_rows": units})
    # then the rows field says what is wrong, and no quote was recorded
    assert response.status_code == 200
    assert response.context["form"].errors == {"p_rows": [error]}
    assert Quote.objects.count() == 0


def test_a_table_action_offers_a_choice_per_parameter_from_its_prices_d2(
    client, staff, make_organisation
):
    # given a table action priced by service and complexity, per page
    action = action_of(make_organisation, "translation", "translation")
    rows = list(action.prices.values_list("match", "credits"))
    match, unit_credits = rows[0]
    # when staff open the form and quote 3 pages of the first row's service and complexity
    form = client.get(try_url(action)).context["form"]
    response = client.post(
        try_url(action),
        {
            "client": own_client(action).pk,
            "p_service": match["service"],
            "p_complexity": match["complexity"],
            "p_pages": "3",
        },
    )
    # then each parameter is a choice of the values found in the price rows, and the quote
    # costs 3 pages at that row's price
    assert list(form.fields) == ["client", "p_service", "p_complexity", "p_pages"]
    services = sorted({str(m["service"]) for m, _credits in rows})
    assert [value for value, _label in form.fields["p_service"].choices] == services
    assert response.status_code == 200
    assert Quote.objects.get().credits == 3 * unit_credits


def test_a_table_value_not_in_the_prices_is_a_form_error_x6(client, staff, make_organisation):
    # given a table action
    action = action_of(make_organisation, "translation", "translation")
    # when staff post a service the price rows do not have
    response = client.post(
        try_url(action),
        {
            "client": own_client(action).pk,
            "p_service": "astrology",
            "p_complexity": "simple",
            "p_pages": "1",
        },
    )
    # then the service field refuses it, and no quote was recorded
    assert list(response.context["form"].errors) == ["p_service"]
    assert Quote.objects.count() == 0


def test_an_sms_asks_for_a_country_from_the_rates_and_a_text_s1(client, staff, make_organisation):
    # given the SMS action and its rates (Switzerland: 3 credits a part)
    action = action_of(make_organisation, "sms", "sms")
    # when staff quote a 161-character GSM-7 text (2 parts) to Switzerland
    form = client.get(try_url(action)).context["form"]
    response = client.post(
        try_url(action), {"client": own_client(action).pk, "p_country": "CH", "p_text": "a" * 161}
    )
    # then the country is a choice of the rates' countries, and the quote costs 2 × 3
    assert list(form.fields) == ["client", "p_country", "p_text"]
    assert [value for value, _label in form.fields["p_country"].choices][:3] == [
        "BE",
        "CH",
        "DE",
    ]
    assert response.status_code == 200
    quote = Quote.objects.get()
    assert (quote.credits, quote.params) == (6, {"text": "a" * 161, "recipients": ["CH"]})


def test_an_sms_country_without_a_rate_is_a_form_error_x6(client, staff, make_organisation):
    # given the SMS action (no rate for Japan)
    action = action_of(make_organisation, "sms", "sms")
    # when staff post Japan
    response = client.post(
        try_url(action), {"client": own_client(action).pk, "p_country": "JP", "p_text": "Hi"}
    )
    # then the country field refuses it, and no quote was recorded
    assert list(response.context["form"].errors) == ["p_country"]
    assert Quote.objects.count() == 0


@pytest.mark.parametrize("action_id", [999_999, 2**63 - 1, 2**63, int("9" * 50)])
def test_an_unknown_action_id_is_404_issue13(client, staff, action_id):
    # given no billable action with this id
    # when staff open and post "Try this action" for it
    url = f"/admin/credits/billableaction/{action_id}/try/"
    # then both answer 404, not 500
    assert client.get(url).status_code == 404
    assert client.post(url, {"client": 1}).status_code == 404
