"""The usage report's figures, from the daily roll-up and the live tail (S6, M4, C1, X4)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clients import services as client_services
from clients.models import Organisation
from credits import services
from credits.models import UsageDay, UsagePersonDay, UsageRollup
from credits.selectors.usage import (
    ActionLine,
    ClientLine,
    Consumed,
    MonthLine,
    Period,
    consumed_between,
    spent_between,
    usage_report,
)
from credits.services import usage as rollup_module

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")
WINTER = Period(date(2025, 12, 1), date(2026, 2, 28))
# The roll-up runs at noon on 4 February: every day up to 3 February is closed.
NOON_4_FEB = datetime(2026, 2, 4, 12, tzinfo=PARIS)
WINTER_START = datetime(2026, 1, 5, 9, tzinfo=PARIS)


def spend(client, action: str, when: datetime, **params):
    return services.consume(client=client, action=action, params=params, now=when)


@pytest.fixture
def crm(make_organisation):
    """A CRM (free logins, 1-credit forms, 5-credit SMS, 10-credit summaries) in Paris, with
    six consumptions over January and February."""
    organisation = make_organisation("crm", preset="crm", time_zone="Europe/Paris")
    services.grant(
        organisation=organisation,
        credits=1000,
        source="purchase",
        now=datetime(2026, 1, 1, 9, tzinfo=PARIS),
    )
    own = organisation.clients.get(kind="own")
    front = client_services.create_client(organisation=organisation, name="Front desk")
    field = client_services.create_client(organisation=organisation, name="Field sales")
    spend(own, "ai_summary", datetime(2026, 1, 10, 9, tzinfo=PARIS))
    spend(front, "login", datetime(2026, 1, 10, 9, 5, tzinfo=PARIS))
    # 23:30 UTC on 31 January is 00:30 on 1 February in Paris: February's
    spend(front, "form_submission", datetime(2026, 1, 31, 23, 30, tzinfo=UTC))
    spend(field, "sms", datetime(2026, 2, 3, 10, tzinfo=PARIS), messages=3)
    spend(front, "login", datetime(2026, 2, 3, 11, tzinfo=PARIS))
    spend(front, "form_submission", datetime(2026, 2, 3, 11, 30, tzinfo=PARIS))
    organisation.own, organisation.front, organisation.field = own, front, field
    return organisation


def test_usage_by_action_names_each_action_and_counts_free_ones_with_zero_credits_c1_m4(crm):
    report = usage_report(crm, WINTER)
    assert report.by_action == [
        ActionLine("sms", "SMS message", free=False, uses=1, credits=15),
        ActionLine("ai_summary", "AI summary", free=False, uses=1, credits=10),
        ActionLine("form_submission", "Form filled in", free=False, uses=2, credits=2),
        ActionLine("login", "Log in", free=True, uses=2, credits=0),
    ]
    assert (report.uses, report.credits) == (6, 27)


def test_usage_by_client_names_each_client_largest_first_s6(crm):
    report = usage_report(crm, WINTER)
    assert report.by_client == [
        ClientLine(crm.field.pk, "Field sales", is_active=True, uses=1, credits=15),
        ClientLine(crm.own.pk, "Crm", is_active=True, uses=1, credits=10),
        ClientLine(crm.front.pk, "Front desk", is_active=True, uses=4, credits=2),
    ]


def test_usage_by_month_counts_in_the_organisations_zone_and_shows_empty_months_s6(crm):
    # Given a consumption at 23:30 UTC on 31 January, 00:30 on 1 February in Paris
    # When the report covers December to February
    report = usage_report(crm, WINTER)
    # Then it is February's, and December shows 0
    assert report.by_month == [
        MonthLine(date(2025, 12, 1), date(2025, 12, 1), date(2025, 12, 31), 0, 0),
        MonthLine(date(2026, 1, 1), date(2026, 1, 1), date(2026, 1, 31), 2, 10),
        MonthLine(date(2026, 2, 1), date(2026, 2, 1), date(2026, 2, 28), 4, 17),
    ]


def test_a_period_starting_mid_month_counts_only_its_own_days_s6(crm):
    report = usage_report(crm, Period(date(2026, 1, 15), date(2026, 2, 1)))
    assert report.by_month == [
        MonthLine(date(2026, 1, 1), date(2026, 1, 15), date(2026, 1, 31), 0, 0),
        MonthLine(date(2026, 2, 1), date(2026, 2, 1), date(2026, 2, 1), 1, 1),
    ]


def test_one_clients_report_counts_only_that_client_s6_x5(crm):
    report = usage_report(crm, WINTER, client=crm.front)
    assert [(line.code, line.uses, line.credits) for line in report.by_action] == [
        ("form_submission", 2, 2),
        ("login", 2, 0),
    ]
    assert [line.client_id for line in report.by_client] == [crm.front.pk]
    assert [(line.uses, line.credits) for line in report.by_month] == [(0, 0), (1, 0), (3, 2)]


def test_the_roll_up_writes_one_row_per_client_action_and_local_day_s6(crm):
    # When the roll-up runs at noon on 4 February
    run = services.roll_up_usage(now=NOON_4_FEB)
    # Then every closed day is summed, in Paris days, and the mark is 4 February's midnight
    assert (run.organisations, run.rows) == (1, 6)
    assert sorted(
        UsageDay.objects.filter(organisation=crm).values_list(
            "day", "client__name", "action_code", "uses", "credits"
        )
    ) == [
        (date(2026, 1, 10), "Crm", "ai_summary", 1, 10),
        (date(2026, 1, 10), "Front desk", "login", 1, 0),
        (date(2026, 2, 1), "Front desk", "form_submission", 1, 1),
        (date(2026, 2, 3), "Field sales", "sms", 1, 15),
        (date(2026, 2, 3), "Front desk", "form_submission", 1, 1),
        (date(2026, 2, 3), "Front desk", "login", 1, 0),
    ]
    rollup = UsageRollup.objects.get(organisation=crm)
    assert rollup.rolled_until == datetime(2026, 2, 4, tzinfo=PARIS)
    assert rollup.time_zone == "Europe/Paris"


def test_the_report_is_the_same_whether_or_not_the_roll_up_ran_s6(crm):
    # Given the report read live
    before = usage_report(crm, WINTER)
    # When the roll-up has run
    services.roll_up_usage(now=NOON_4_FEB)
    # Then the report reads the same figures from the days
    assert usage_report(crm, WINTER) == before
    assert usage_report(crm, WINTER, client=crm.front) == usage_report(
        crm, WINTER, client=crm.front
    )


def test_consumptions_after_the_mark_are_counted_live_s6(crm):
    # Given the days up to 3 February rolled up
    services.roll_up_usage(now=NOON_4_FEB)
    # When SMS go out on 4 February, after the mark
    spend(crm.field, "sms", datetime(2026, 2, 4, 9, tzinfo=PARIS), messages=2)
    # Then February counts them
    report = usage_report(crm, WINTER)
    assert (report.by_month[-1].uses, report.by_month[-1].credits) == (5, 27)
    assert report.by_action[0] == ActionLine("sms", "SMS message", False, 2, 25)
    assert (report.uses, report.credits) == (7, 37)


def test_a_day_is_rolled_up_only_an_hour_after_it_ended_x4(crm):
    # When the roll-up runs half an hour after midnight on 4 February
    run = services.roll_up_usage(now=datetime(2026, 2, 4, 0, 30, tzinfo=PARIS))
    # Then 3 February is left to the live tail, and the report is still exact
    assert run.rows == 3
    assert not UsageDay.objects.filter(day=date(2026, 2, 3)).exists()
    assert UsageRollup.objects.get().rolled_until == datetime(2026, 2, 3, tzinfo=PARIS)
    assert (usage_report(crm, WINTER).uses, usage_report(crm, WINTER).credits) == (6, 27)
    # And the next hour's run adds it
    assert services.roll_up_usage(now=datetime(2026, 2, 4, 1, 30, tzinfo=PARIS)).rows == 3


def test_rolling_up_twice_writes_nothing_new_x4(crm):
    services.roll_up_usage(now=NOON_4_FEB)
    again = services.roll_up_usage(now=NOON_4_FEB)
    assert (again.organisations, again.rows) == (0, 0)
    assert UsageDay.objects.count() == 6
    later_the_same_day = services.roll_up_usage(now=datetime(2026, 2, 4, 22, tzinfo=PARIS))
    assert (later_the_same_day.organisations, later_the_same_day.rows) == (0, 0)


def test_a_crash_in_the_second_organisations_batch_leaves_the_first_done_x4(
    crm, make_organisation, monkeypatch
):
    # Given a second organisation with a consumption
    other = make_organisation("other", preset="crm", time_zone="Europe/Paris")
    services.grant(organisation=other, credits=50, source="purchase", now=NOON_4_FEB.replace(day=1))
    spend(other.clients.get(kind="own"), "ai_summary", datetime(2026, 2, 2, 9, tzinfo=PARIS))
    # And a failure inside the transaction of the second one's batch
    move_marks = rollup_module._move_marks

    def failing(ids, **kwargs):
        if other.pk in ids:
            raise RuntimeError("the worker died")
        move_marks(ids, **kwargs)

    monkeypatch.setattr(rollup_module, "_move_marks", failing)
    # When the roll-up runs one organisation per batch
    with pytest.raises(RuntimeError):
        services.roll_up_usage(now=NOON_4_FEB, batch_size=1)
    # Then the first is rolled up and the second untouched: no days, no mark
    assert UsageDay.objects.filter(organisation=crm).count() == 6
    assert UsageRollup.objects.filter(organisation=crm).exists()
    assert not UsageDay.objects.filter(organisation=other).exists()
    assert not UsageRollup.objects.filter(organisation=other).exists()
    # And a re-run does the second only, once
    monkeypatch.setattr(rollup_module, "_move_marks", move_marks)
    run = services.roll_up_usage(now=NOON_4_FEB, batch_size=1)
    assert (run.organisations, run.rows) == (1, 1)
    assert UsageDay.objects.filter(organisation=crm).count() == 6
    assert usage_report(other, WINTER).credits == 10


def test_the_roll_up_makes_one_insert_per_time_zone_whatever_the_organisations_x4(
    crm, make_organisation
):
    # Given four more organisations in Paris and one in New York, each with a consumption
    others = [("p1", "Europe/Paris"), ("p2", "Europe/Paris"), ("p3", "Europe/Paris")]
    for slug, zone in [*others, ("p4", "Europe/Paris"), ("ny", "America/New_York")]:
        organisation = make_organisation(slug, preset="crm", time_zone=zone)
        services.grant(organisation=organisation, credits=50, source="purchase", now=WINTER_START)
        spend(organisation.clients.get(kind="own"), "ai_summary", WINTER_START)
    # When the roll-up runs
    with CaptureQueriesContext(connection) as queries:
        run = services.roll_up_usage(now=NOON_4_FEB)
    # Then per zone one INSERT … SELECT wrote every organisation's days (and one their
    # people's days)
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "credits_usageday"')]
    person_inserts = [
        q for q in queries if q["sql"].startswith('INSERT INTO "credits_usagepersonday"')
    ]
    assert (len(inserts), len(person_inserts)) == (2, 2)
    assert (run.organisations, run.rows) == (6, 11)
    # the read, then per zone: savepoint, lock, two deletes and two inserts (a first run),
    # marks, release
    assert len(queries) <= 1 + 2 * 8


def test_a_change_of_time_zone_recounts_the_days_in_the_new_zone_s6(crm):
    # Given days rolled up in Paris
    services.roll_up_usage(now=NOON_4_FEB)
    # When the organisation moves to New York
    Organisation.objects.filter(pk=crm.pk).update(time_zone="America/New_York")
    crm.refresh_from_db()
    # Then the report counts in New York's months at once (31 January 18:30 there: January)
    live = usage_report(crm, WINTER)
    assert [(line.uses, line.credits) for line in live.by_month] == [(0, 0), (3, 11), (3, 16)]
    # And the next roll-up rebuilds the days in New York's midnights, with the same figures
    services.roll_up_usage(now=NOON_4_FEB)
    assert UsageRollup.objects.get().time_zone == "America/New_York"
    assert UsageDay.objects.filter(day=date(2026, 1, 31)).count() == 1
    assert usage_report(crm, WINTER) == live


def test_spent_between_adds_rolled_days_and_the_ragged_ends_live_b4(crm):
    start = datetime(2026, 1, 10, 9, 2, tzinfo=PARIS)  # after the summary, before the login
    end = datetime(2026, 2, 3, 10, 30, tzinfo=PARIS)  # after the SMS, before the next login
    assert spent_between(crm, start, end) == 16  # 0 (login) + 1 (form) + 15 (SMS)
    services.roll_up_usage(now=NOON_4_FEB)
    assert spent_between(crm, start, end) == 16
    assert spent_between(crm, datetime(2026, 1, 1, tzinfo=PARIS), NOON_4_FEB) == 27
    assert spent_between(crm, end, start) == 0


def test_the_report_reads_a_bounded_number_of_queries_s6(crm, django_assert_max_num_queries):
    services.roll_up_usage(now=NOON_4_FEB)
    spend(crm.field, "sms", datetime(2026, 2, 4, 9, tzinfo=PARIS), messages=2)
    # mark, rolled-up days, live tail, action names, client names
    with django_assert_max_num_queries(5):
        usage_report(crm, WINTER)


@pytest.mark.postgres
def test_the_roll_up_counts_local_days_on_postgresql_s6(crm):
    """The INSERT … SELECT and the local day (AT TIME ZONE) as PostgreSQL runs them."""
    before = usage_report(crm, WINTER)
    assert services.roll_up_usage(now=NOON_4_FEB).rows == 6
    assert UsageDay.objects.get(action_code="form_submission", day=date(2026, 2, 1)).uses == 1
    assert usage_report(crm, WINTER) == before
    assert services.roll_up_usage(now=NOON_4_FEB).rows == 0


def test_the_hourly_task_rolls_up_every_closed_day_k2(crm, settings):
    from credits import tasks

    # Given the beat schedule, which runs the task every hour
    entry = settings.CELERY_BEAT_SCHEDULE["credits-roll-up-usage"]
    assert (entry["task"], entry["schedule"]) == ("credits.roll_up_usage", 3600.0)
    # When it runs (now: long after February 2026's consumptions)
    result = tasks.roll_up_usage.delay().get()
    # Then every day is rolled up, once
    assert result == {"organisations": 1, "rows": 6}
    assert tasks.roll_up_usage.delay().get()["rows"] == 0


def test_deleting_the_mark_rebuilds_the_days_once_x4(crm):
    # Given days rolled up
    services.roll_up_usage(now=NOON_4_FEB)
    # When the mark is deleted (the way to rebuild an organisation's days)
    UsageRollup.objects.filter(organisation=crm).delete()
    # Then the next run counts every day again, without doubling any
    assert services.roll_up_usage(now=NOON_4_FEB).rows == 6
    assert UsageDay.objects.count() == 6
    assert (usage_report(crm, WINTER).uses, usage_report(crm, WINTER).credits) == (6, 27)


def test_the_roll_up_counts_each_persons_days_for_their_own_totals_c4(crm, make_user):
    """'Only mine' reads a person's days (UsagePersonDay), and counts the same rolled up or
    live; consumptions made without a person (the API, a job) are nobody's."""
    # Given two people spending on the same days, beside the fixture's unattributed uses
    ann, bob = make_user("ann"), make_user("bob")
    for person, action, day in (
        (ann, "ai_summary", 12),
        (ann, "login", 12),
        (bob, "form_submission", 12),
        (ann, "form_submission", 13),
    ):
        services.consume(
            client=crm.front,
            action=action,
            actor=person,
            now=datetime(2026, 1, day, 9, tzinfo=PARIS),
        )
    live = [consumed_between(crm.pk, crm.time_zone, None, None, actor_id=p.pk) for p in (ann, bob)]
    # When the days are rolled up
    services.roll_up_usage(now=NOON_4_FEB)
    # Then each person has a row per day, and their totals are the same as counted live
    rows = UsagePersonDay.objects.filter(organisation=crm).order_by("actor_id", "day")
    assert list(rows.values_list("actor_id", "day", "uses", "credits")) == [
        (ann.pk, date(2026, 1, 12), 2, 10),
        (ann.pk, date(2026, 1, 13), 1, 1),
        (bob.pk, date(2026, 1, 12), 1, 1),
    ]
    rolled = [
        consumed_between(crm.pk, crm.time_zone, None, None, actor_id=p.pk) for p in (ann, bob)
    ]
    assert rolled == live == [Consumed(3, 11), Consumed(1, 1)]
