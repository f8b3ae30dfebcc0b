"""The rate card through the API (C1, C2, D2, M1, S1, K4): every action with its rule and
prices, SMS rates by country, never a stale price."""

import pytest

from credits import services as credit_services
from credits.models import BillableAction, SmsRate

pytestmark = pytest.mark.django_db


def test_m1_c1_k4_the_crm_card_lists_every_action_with_its_rule_and_credits(make_portal, make_api):
    # given a CRM organisation (forms, SMS and AI cost credits; logging in is free)
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal, scope="read")
    # when its rate card is read
    response = api.get("/api/v1/rate-card/")
    # then every action, by category and name
    assert response.status_code == 200
    assert [
        (a["category"], a["code"], a["rule"], a["credits"], a["unit_param"], a["active"])
        for a in response.json()
    ] == [
        ("AI", "ai_email_draft", "flat", 5, "", True),
        ("AI", "ai_summary", "flat", 10, "", True),
        ("Forms", "form_submission", "flat", 1, "", True),
        ("Free", "login", "free", 0, "", True),
        ("Free", "settings", "free", 0, "", True),
        ("Free", "dashboard", "free", 0, "", True),
        ("SMS", "sms", "per_unit", 5, "messages", True),
    ]
    assert response.json()[1] == {
        "code": "ai_summary",
        "name": "AI summary",
        "description": "",
        "category": "AI",
        "rule": "flat",
        "credits": 10,
        "unit_param": "",
        "table_params": [],
        "extra_params": [],
        "active": True,
        "prices": [],
    }


def test_d2_k4_a_table_rule_comes_with_its_prices(make_portal, make_api):
    # given a translation agency: a task's price depends on service and complexity, per page
    portal = make_portal("alpha", preset="translation")
    api = make_api(portal, scope="read")
    # when its rate card is read
    card = {action["code"]: action for action in api.get("/api/v1/rate-card/").json()}
    # then the table's nine prices, by their parameter values
    task = card["translation"]
    assert (task["rule"], task["unit_param"], task["table_params"]) == (
        "table",
        "pages",
        ["service", "complexity"],
    )
    assert task["prices"] == [
        {"match": {"complexity": "complex", "service": "general"}, "credits": 80},
        {"match": {"complexity": "complex", "service": "legal"}, "credits": 120},
        {"match": {"complexity": "complex", "service": "marketing"}, "credits": 90},
        {"match": {"complexity": "simple", "service": "general"}, "credits": 20},
        {"match": {"complexity": "simple", "service": "legal"}, "credits": 60},
        {"match": {"complexity": "simple", "service": "marketing"}, "credits": 30},
        {"match": {"complexity": "standard", "service": "general"}, "credits": 40},
        {"match": {"complexity": "standard", "service": "legal"}, "credits": 90},
        {"match": {"complexity": "standard", "service": "marketing"}, "credits": 60},
    ]
    assert card["proofreading"]["prices"] == []


def test_s1_k4_sms_rates_list_each_country_with_its_credits_per_part(make_portal, make_api):
    portal = make_portal("alpha", preset="sms")
    api = make_api(portal, scope="read")
    response = api.get("/api/v1/rate-card/sms-rates/")
    assert response.status_code == 200
    assert [tuple(rate.values()) for rate in response.json()] == [
        ("BE", "Belgium", "32", 2),
        ("CH", "Switzerland", "41", 3),
        ("DE", "Germany", "49", 2),
        ("ES", "Spain", "34", 1),
        ("FR", "France", "33", 1),
        ("GB", "United Kingdom", "44", 2),
        ("IT", "Italy", "39", 1),
        ("US", "United States", "1", 1),
    ]
    assert list(response.json()[0]) == ["country", "name", "calling_code", "credits_per_segment"]


def test_k4_a_price_changed_a_moment_ago_shows_at_the_next_read(make_portal, make_api):
    # given the card read once (AI summary 10 credits, France 1 credit per part)
    alpha = make_portal("alpha", preset="crm")
    sms = make_portal("beta", preset="sms")
    api, sms_api = make_api(alpha, scope="read"), make_api(sms, scope="read")
    api.get("/api/v1/rate-card/")
    sms_api.get("/api/v1/rate-card/sms-rates/")
    # when the prices change (as admin changes them)
    action = BillableAction.objects.get(organisation=alpha.organisation, code="ai_summary")
    action.credits = 12
    credit_services.save_action(action=action)
    rate = SmsRate.objects.get(organisation=sms.organisation, country="FR")
    rate.credits_per_segment = 4
    credit_services.save_sms_rate(rate=rate)
    # then the next reads show the new prices
    card = {a["code"]: a["credits"] for a in api.get("/api/v1/rate-card/").json()}
    rates = {
        r["country"]: r["credits_per_segment"]
        for r in sms_api.get("/api/v1/rate-card/sms-rates/").json()
    }
    assert (card["ai_summary"], rates["FR"]) == (12, 4)


def test_k4_an_inactive_action_is_listed_as_such_and_cannot_be_consumed(make_portal, make_api):
    # given the AI summary withdrawn from the card
    portal = make_portal("alpha", preset="crm")
    action = BillableAction.objects.get(organisation=portal.organisation, code="ai_summary")
    action.is_active = False
    credit_services.save_action(action=action)
    api = make_api(portal)
    # when the card is read and the action consumed
    card = {a["code"]: a["active"] for a in api.get("/api/v1/rate-card/").json()}
    response = api.post("/api/v1/consumptions/", {"action": "ai_summary"})
    # then it shows inactive, and consuming it is a pricing error
    assert card["ai_summary"] is False
    assert card["ai_email_draft"] is True
    assert response.status_code == 400
    assert response.json()["code"] == "pricing_error"
    assert response.json()["detail"] == "“AI summary” is not available."


def test_k4_x5_a_key_reads_only_its_own_organisations_card(make_portal, make_api):
    # given a CRM organisation and an SMS one
    crm = make_portal("alpha", preset="crm")
    make_portal("beta", preset="sms")
    api = make_api(crm, scope="read")
    # when the CRM's key reads the card and the SMS rates
    codes = [a["code"] for a in api.get("/api/v1/rate-card/").json()]
    rates = api.get("/api/v1/rate-card/sms-rates/").json()
    # then only the CRM's actions, and no SMS rates (the CRM prices SMS per message)
    assert sorted(codes) == [
        "ai_email_draft",
        "ai_summary",
        "dashboard",
        "form_submission",
        "login",
        "settings",
        "sms",
    ]
    assert rates == []
