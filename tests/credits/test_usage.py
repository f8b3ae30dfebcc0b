"""Usage broken down by action, by client and over time (C4, M4, S6)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from clients import services as client_services
from credits import selectors, services
from credits.selectors import UsageRow

pytestmark = pytest.mark.django_db

ROME = ZoneInfo("Europe/Rome")


@pytest.fixture
def sms_org(make_organisation):
    organisation = make_organisation("texto", preset="sms", time_zone="Europe/Rome")
    services.grant(
        organisation=organisation,
        credits=10_000,
        source="purchase",
        now=datetime(2026, 1, 1, 9, tzinfo=ROME),
    )
    return organisation


def test_usage_is_broken_down_by_month_in_the_organisations_zone_and_by_list_s6(sms_org):
    newsletter = client_services.create_client(organisation=sms_org, name="Newsletter", kind="list")
    vip = client_services.create_client(organisation=sms_org, name="VIP", kind="list")
    # 31 Jan 23:30 in Rome is 22:30 UTC: January; 1 Feb 00:30 in Rome is still 31 Jan in UTC
    for client, recipients, when in (
        (newsletter, ["IT"] * 10, datetime(2026, 1, 31, 23, 30, tzinfo=ROME)),
        (newsletter, ["IT"] * 5 + ["DE"] * 2, datetime(2026, 2, 1, 0, 30, tzinfo=ROME)),
        (vip, ["CH"] * 3, datetime(2026, 2, 3, 10, tzinfo=ROME)),
    ):
        services.consume(
            client=client, action="sms", params={"text": "Hi", "recipients": recipients}, now=when
        )
    assert selectors.usage_by_month(sms_org) == [
        UsageRow(datetime(2026, 1, 1, tzinfo=ROME), 1, 10),
        UsageRow(datetime(2026, 2, 1, tzinfo=ROME), 2, 18),
    ]
    assert selectors.usage_by_month(sms_org, client=newsletter) == [
        UsageRow(datetime(2026, 1, 1, tzinfo=ROME), 1, 10),
        UsageRow(datetime(2026, 2, 1, tzinfo=ROME), 1, 9),
    ]
    assert selectors.usage_by_client(sms_org) == [
        UsageRow("Newsletter", 2, 19),
        UsageRow("VIP", 1, 9),
    ]
    messages = list(selectors.consumptions_of(sms_org, client=newsletter))
    assert [(m.params["text"], m.params["countries"], m.credits) for m in messages] == [
        ("Hi", {"DE": 2, "IT": 5}, 9),
        ("Hi", {"IT": 10}, 10),
    ]


def test_usage_by_action_counts_free_actions_with_zero_credits_c1_m4(make_organisation):
    crm = make_organisation("crm", preset="crm")
    when = datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Europe/Paris"))
    services.grant(organisation=crm, credits=100, source="purchase", now=when)
    own = crm.clients.get(kind="own")
    for action in ("login", "dashboard", "login", "form_submission", "ai_summary"):
        services.consume(client=own, action=action, now=when)
    assert selectors.usage_by_action(crm) == [
        UsageRow("ai_summary", 1, 10),
        UsageRow("dashboard", 1, 0),
        UsageRow("form_submission", 1, 1),
        UsageRow("login", 2, 0),
    ]
