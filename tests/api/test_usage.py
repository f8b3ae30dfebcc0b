"""Usage aggregates over the API (K4, S6, M4, C1, X6, B7): credits and uses by action,
client or month, summed exactly over whole days of the organisation's time zone."""

from datetime import UTC, datetime

import pytest

from credits import services as credit_services

pytestmark = pytest.mark.django_db

USAGE = "/api/v1/usage/"
# The first quarter of 2025, well before the fixture's own consumptions (made today).
QUARTER = {"from": "2025-01", "to": "2025-03"}


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def crm_history(make_portal):
    """A CRM organisation (Europe/Paris) whose first department, in 2025, ran two AI
    summaries (10 each) and three SMS (5 each) in January, a log-in (free) and an AI summary
    in February; the second department ran an e-mail draft (5) in March. One of January's
    SMS was sent at 23:30 UTC on 31 January: 00:30 on 1 February in Paris."""
    portal = make_portal("alpha", preset="crm")
    one, two = portal.clients
    spent = [
        (one, "ai_summary", {}, _at(2025, 1, 6, 9)),
        (one, "ai_summary", {}, _at(2025, 1, 20, 9)),
        (one, "sms", {"messages": 2}, _at(2025, 1, 21, 9)),
        (one, "sms", {"messages": 1}, _at(2025, 1, 31, 23, 30)),
        (one, "login", {}, _at(2025, 2, 3, 8)),
        (one, "ai_summary", {}, _at(2025, 2, 4, 8)),
        (two, "ai_email_draft", {}, _at(2025, 3, 12, 15)),
    ]
    for client, action, params, now in spent:
        credit_services.consume(client=client, action=action, params=params, now=now)
    return portal


def _rows(body: dict, *keys: str) -> list[tuple]:
    return [tuple(row[k] for k in keys) for row in body["rows"]]


def test_m4_usage_by_action_sums_exact_credits_and_uses(crm_history, make_api):
    # given the first quarter's history
    api = make_api(crm_history, scope="read")
    # when usage is asked by action
    response = api.get(USAGE, QUARTER | {"group_by": "action"})
    # then each action's credits and uses, most credits first; the free log-in counts 0 (C1)
    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"], body["group_by"], body["client"]) == (
        "2025-01-01",
        "2025-03-31",
        "action",
        None,
    )
    assert _rows(body, "action", "free", "uses", "credits") == [
        ("ai_summary", False, 3, 30),
        ("sms", False, 2, 15),
        ("ai_email_draft", False, 1, 5),
        ("login", True, 1, 0),
    ]
    assert (body["uses"], body["credits"]) == (7, 50)


def test_s6_usage_by_client(crm_history, make_api):
    # given the first quarter's history
    one, two = crm_history.clients
    # when usage is asked by client
    body = make_api(crm_history).get(USAGE, QUARTER | {"group_by": "client"}).json()
    # then each department's uses and credits, most credits first
    assert _rows(body, "client", "name", "is_active", "uses", "credits") == [
        (one.pk, "Alpha one", True, 6, 45),
        (two.pk, "Alpha two", True, 1, 5),
    ]


def test_s6_usage_by_month_in_the_organisations_time_zone(crm_history, make_api):
    """The SMS sent at 23:30 UTC on 31 January counts in February (Paris)."""
    # when the first quarter's usage is asked by month
    body = make_api(crm_history).get(USAGE, QUARTER | {"group_by": "month"}).json()
    # then every month, with January's last SMS in February
    assert _rows(body, "month", "first", "last", "uses", "credits") == [
        ("2025-01", "2025-01-01", "2025-01-31", 3, 30),
        ("2025-02", "2025-02-01", "2025-02-28", 3, 15),
        ("2025-03", "2025-03-01", "2025-03-31", 1, 5),
    ]


def test_s6_a_period_of_dates_covers_whole_days(crm_history, make_api):
    # when the period is 21 January to 1 February (Paris days)
    params = {"from": "2025-01-21", "to": "2025-02-01", "group_by": "month"}
    body = make_api(crm_history).get(USAGE, params).json()
    # then the two SMS consumptions, and the months cut to the period
    assert _rows(body, "month", "first", "last", "uses", "credits") == [
        ("2025-01", "2025-01-21", "2025-01-31", 1, 10),
        ("2025-02", "2025-02-01", "2025-02-01", 1, 5),
    ]


def test_s6_usage_of_one_client(crm_history, make_api):
    # given the second department's one e-mail draft
    two = crm_history.clients[1]
    # when its usage alone is asked
    body = make_api(crm_history).get(USAGE, QUARTER | {"client": two.pk}).json()
    # then that client's actions only
    assert body["client"] == two.pk
    assert _rows(body, "action", "uses", "credits") == [("ai_email_draft", 1, 5)]


def test_b7_a_tied_key_gets_its_clients_usage_only(crm_history, make_api):
    # given a key tied to the first department
    one, two = crm_history.clients
    api = make_api(crm_history, client=one)
    # when it asks for the whole organisation's usage, or for another client's
    mine = api.get(USAGE, QUARTER | {"group_by": "client"})
    other = api.get(USAGE, QUARTER | {"client": two.pk})
    # then it gets its own only, and the other client is not found
    assert _rows(mine.json(), "client", "uses", "credits") == [(one.pk, 6, 45)]
    assert mine.json()["client"] == one.pk
    assert (other.status_code, other.json()["code"]) == (404, "not_found")


def test_x5_another_organisations_client_is_404(crm_history, make_portal, make_api):
    # given a key of another organisation
    beta = make_portal("beta", preset="crm")
    # when it asks for a client of the first
    response = make_api(beta).get(USAGE, {"client": crm_history.clients[0].pk})
    # then the client is not found
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_m4_the_default_period_is_the_last_12_months(make_portal, make_api):
    # given the fixture's two AI summaries, made today
    portal = make_portal("alpha", preset="crm")
    body = make_api(portal).get(USAGE, {"group_by": "month"}).json()
    # then twelve months ending with this one, the last with the 2 uses
    assert len(body["rows"]) == 12
    assert body["to"] == body["rows"][-1]["last"]
    assert (body["rows"][-1]["uses"], body["rows"][-1]["credits"]) == (2, 20)
    assert (body["uses"], body["credits"]) == (2, 20)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2025-13"}, "from"),
        ({"from": "2025-02-30"}, "from"),
        ({"to": "25-01"}, "to"),
        ({"from": "1999-12"}, "from"),
        ({"to": "2100-01-01"}, "to"),
        ({"from": "2025-03", "to": "2025-01"}, "to"),
        ({"from": "2000-01", "to": "2099-12"}, "to"),
        ({"group_by": "week"}, "group_by"),
        ({"client": "0"}, "client"),
        ({"client": str(10**30)}, "client"),
    ],
)
def test_x6_bad_usage_parameters_are_a_400(make_portal, make_api, params, field):
    # given an organisation
    portal = make_portal("alpha", preset="crm")
    # when usage is asked with a parameter it cannot read
    response = make_api(portal).get(USAGE, params)
    # then 400 naming the parameter
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["errors"]) == [field]


def test_x6_a_period_bound_out_of_range_says_which_dates_are_allowed(make_portal, make_api):
    # given an organisation
    portal = make_portal("alpha", preset="crm")
    # when usage is asked from December 1999
    response = make_api(portal).get(USAGE, {"from": "1999-12", "to": "2000-02"})
    # then the error names the bounds, filled in
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "from": ["Choose a date between 2000-01-01 and 2099-12-31."]
    }
