"""Issue 13, X6: a refusal in the credits back office is a form error: never a 500, never
"changed successfully" beside it, no change logged, and no figure moved."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from credits import services
from credits.exceptions import CreditsError
from credits.models import BillableAction, ClientAccount, CreditPool, LimitKind
from tests.credits.conftest import figures

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, make_user):
    user = make_user("backoffice", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def funded(organisation, now):
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    return organisation


def adjust(client, organisation, credits, reason="Correction"):
    return client.post(
        reverse("admin:credits_creditpool_changelist"),
        {
            "action": "adjust_credits",
            "_selected_action": [organisation.pk],
            "apply": "Adjust",
            "credits": credits,
            "reason": reason,
        },
        follow=True,
    )


def form_errors(response) -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


@pytest.mark.parametrize(
    ("credits", "error"),
    [
        (2**63 - 1, "Enter at most 1000000000000 credits."),
        (2**63, "Enter at most 1000000000000 credits."),
        (-(2**63), "Enter at least -1000000000000."),
        ("9" * 5000, "Enter a whole number of credits."),
        (0, "An adjustment is a non-zero whole number of credits."),
    ],
    ids=["2**63-1", "2**63", "-2**63", "5000 digits", "zero"],
)
def test_an_adjustment_out_of_bounds_is_a_form_error_and_moves_nothing_x6(
    client, staff, funded, credits, error
):
    # given an organisation with 100 credits
    before = figures(funded)
    # when staff adjust it by an out-of-range (or zero) number of credits
    response = adjust(client, funded, credits)
    # then the form says what is wrong, and no figure, lot or entry moved
    assert response.status_code == 200
    assert form_errors(response) == {"credits": [error]}
    assert figures(funded) == before


def test_an_adjustment_reason_longer_than_its_column_is_a_form_error_x6(client, staff, funded):
    # given an organisation with 100 credits (the lot's reference holds 200 characters)
    before = figures(funded)
    # when staff give a reason of 201 characters
    response = adjust(client, funded, 10, reason="r" * 201)
    # then the form refuses it, and nothing moved
    assert form_errors(response) == {
        "reason": ["Ensure this value has at most 200 characters (it has 201)."]
    }
    assert figures(funded) == before


def test_an_adjustment_the_service_refuses_is_shown_on_the_form_with_no_success_x6(
    client, staff, funded
):
    # given 100 credits
    before = figures(funded)
    # when staff take away 130
    response = adjust(client, funded, -130, reason="Too much")
    # then the adjust form is shown again with the service's refusal, nothing says "adjusted"
    assert response.templates[0].name == "admin/credits/adjust.html"
    assert form_errors(response) == {
        "__all__": ["Acme: Not enough credits: 130 needed, 100 available (30 short)."]
    }
    assert [str(message) for message in response.context["messages"]] == []
    assert figures(funded) == before


def test_a_monthly_limit_without_credits_is_an_error_on_the_limit_field_issue13(
    client, staff, organisation, make_client
):
    # given a client without a spending limit
    listed = make_client("Newsletter")
    url = reverse("admin:credits_clientaccount_change", args=[listed.pk])
    # when staff choose a monthly limit and leave its credits empty
    response = client.post(url, {"draws_from_pool": "on", "limit_kind": "monthly", "limit": ""})
    page = response.content.decode()
    # then the limit field says so in staff's words; no constraint name, nothing saved
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "limit": ["A monthly or fixed spending limit needs its number of credits."]
    }
    assert "Constraint" not in page
    assert "client_limit_matches_kind" not in page
    account = ClientAccount.objects.get(pk=listed.pk)
    assert (account.limit_kind, account.limit) == (LimitKind.NONE, None)
    assert not LogEntry.objects.exists()


def test_a_limit_given_with_no_limit_is_an_error_on_the_limit_field_issue13(
    client, staff, organisation, make_client
):
    # given a client without a spending limit
    listed = make_client("Newsletter")
    url = reverse("admin:credits_clientaccount_change", args=[listed.pk])
    # when staff keep "no limit" but type 50 credits as its limit
    response = client.post(url, {"draws_from_pool": "on", "limit_kind": "none", "limit": "50"})
    # then the limit field asks to leave it empty, and nothing is saved
    assert response.context["adminform"].form.errors == {
        "limit": ["Leave the limit empty when the client has no spending limit."]
    }
    assert ClientAccount.objects.get(pk=listed.pk).limit is None


def test_the_limit_constraint_speaks_staffs_words_issue13():
    """issue 13: the constraint's own message, for any form that reaches it."""
    # given the client account's constraint
    (constraint,) = ClientAccount._meta.constraints
    # when its refusal is read
    message = constraint.get_violation_error_message()
    # then it says what is wrong, not which constraint
    assert message == (
        "A monthly or fixed spending limit needs its number of credits; “No limit” needs none."
    )


def test_every_credits_constraint_has_its_own_message_issue13():
    """issue 13: no raw constraint name reaches staff, whichever form trips it."""
    # given every constraint of the credits models
    from django.apps import apps

    constraints = [
        (model._meta.model_name, constraint)
        for model in apps.get_app_config("credits").get_models()
        for constraint in model._meta.constraints
    ]
    # when their refusals are read
    raw = [
        f"{model}.{constraint.name}"
        for model, constraint in constraints
        if constraint.violation_error_message == constraint.default_violation_error_message
    ]
    # then none is Django's "Constraint “…” is violated."
    assert len(constraints) >= 17
    assert raw == []


def test_a_spending_limit_refused_at_save_time_is_a_form_error_not_a_success_issue13(
    client, staff, organisation, make_client, monkeypatch
):
    # given a client, and the service refusing under its lock (as after a race)
    listed = make_client("Newsletter")

    def refuse(**kwargs):
        raise CreditsError("This client changed meanwhile; try again.")

    monkeypatch.setattr(services, "set_spending_limit", refuse)
    url = reverse("admin:credits_clientaccount_change", args=[listed.pk])
    # when staff save a valid monthly limit
    response = client.post(
        url, {"draws_from_pool": "on", "limit_kind": "monthly", "limit": "50"}, follow=True
    )
    page = response.content.decode()
    # then the change form shows the refusal, with no success message and no change logged
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "__all__": ["This client changed meanwhile; try again."]
    }
    assert "changed successfully" not in page
    assert not LogEntry.objects.exists()
    assert ClientAccount.objects.get(pk=listed.pk).limit_kind == LimitKind.NONE


def test_a_policy_refused_at_save_time_is_a_form_error_not_a_success_issue13(
    client, staff, organisation, monkeypatch
):
    # given a pool, and the policy service refusing (as after a race)
    def refuse(**kwargs):
        raise CreditsError("The policy changed meanwhile; try again.")

    monkeypatch.setattr(services, "update_policy", refuse)
    url = reverse("admin:credits_creditpool_change", args=[organisation.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and v is not False}
    data["expiry_months"] = 6
    # when staff save the pool's policy
    response = client.post(url, data, follow=True)
    page = response.content.decode()
    # then the form shows the refusal; nothing saved, no success message, no change logged
    assert response.context["adminform"].form.errors == {
        "__all__": ["The policy changed meanwhile; try again."]
    }
    assert "changed successfully" not in page
    assert not LogEntry.objects.exists()
    assert CreditPool.objects.get(pk=organisation.pk).expiry_months == 12


def test_two_prices_for_the_same_values_are_a_form_error_not_a_500_d2(
    client, staff, make_organisation
):
    # given an SMS organisation's rate card (the duplicate only shows when the rows are saved:
    # their key is computed, not typed)
    organisation = make_organisation("texto", preset="sms")
    # when staff add a table action whose two price rows name the same country
    response = client.post(
        reverse("admin:credits_billableaction_add"),
        {
            "organisation": organisation.pk,
            "code": "voice",
            "name": "Voice message",
            "rule": "table",
            "credits": 0,
            "unit_param": "",
            "table_params": '["country"]',
            "extra_params": "[]",
            "is_active": "on",
            "prices-TOTAL_FORMS": 2,
            "prices-INITIAL_FORMS": 0,
            "prices-0-match": '{"country": "FR"}',
            "prices-0-credits": 3,
            "prices-1-match": '{"country": "FR"}',
            "prices-1-credits": 5,
        },
    )
    # then the add form says so in staff's words, and neither the action nor a price exists
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "__all__": ["This action already has a price for these values."]
    }
    assert not BillableAction.objects.filter(code="voice").exists()
    assert not LogEntry.objects.exists()
