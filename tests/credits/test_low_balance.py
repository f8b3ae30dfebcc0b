"""The low-balance alert (B1, D3): when available credits (balance − held) fall under the
owner's threshold, one e-mail to the owners; once per crossing, re-armed when they are back
at or above it. Checked by the every-minute job and by `check_balance_alerts` for one
organisation.
"""

from datetime import timedelta

import pytest

from clients.models import Client, ClientKind
from credits import services
from credits.exceptions import InvalidAmount
from credits.models import CreditPool, LotSource, LowBalanceAlert, Notice
from tests.credits.conftest import T0

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def own_client(organisation) -> Client:
    return Client.objects.get(organisation=organisation, kind=ClientKind.OWN)


def spend(organisation, credits: int, now) -> None:
    services.debit(client=own_client(organisation), credits=credits, action_code="x", now=now)


def top_up(organisation, credits: int, now) -> None:
    services.grant(organisation=organisation, credits=credits, source=LotSource.PURCHASE, now=now)


@pytest.fixture
def acme(organisation):
    """1,000 credits, an alert under 500."""
    top_up(organisation, 1000, T0)
    services.set_alert_policy(
        organisation=organisation,
        reminder_days=30,
        second_reminder_days=7,
        low_balance_threshold=500,
    )
    return organisation


def test_crossing_the_threshold_downwards_emails_the_owners_once_b1(acme, mailoutbox):
    # Given 1,000 credits and a threshold of 500
    # When 600 are spent and the balance is checked
    spend(acme, 600, T0)
    notice = services.check_balance_alerts(organisation=acme, now=T0)
    # Then one e-mail to the owner says 400 are available, under 500
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["acme-owner@test.example"]
    assert mailoutbox[0].subject == "Low balance at Acme: 400 credits available"
    assert "fell to 400 credits, under your alert threshold of 500" in mailoutbox[0].body
    assert (notice.kind, notice.status) == ("low_balance", "sent")


def test_further_debits_under_the_threshold_send_nothing_more_b1(acme, mailoutbox):
    # Given the alert went when the balance crossed 500
    spend(acme, 600, T0)
    services.check_balance_alerts(organisation=acme, now=T0)
    # When more credits are spent under the threshold, checked each time and by the job
    for minute in range(1, 4):
        spend(acme, 50, T0 + minute * MINUTE)
        services.check_balance_alerts(organisation=acme, now=T0 + minute * MINUTE)
        services.run_balance_alerts(now=T0 + minute * MINUTE)
    # Then still one e-mail
    assert len(mailoutbox) == 1


def test_back_above_then_under_again_sends_a_second_email_b1(acme, mailoutbox):
    # Given the alert went at 400 available
    spend(acme, 600, T0)
    services.check_balance_alerts(organisation=acme, now=T0)
    # When credits are bought back to 900, then 450 spent (450 available)
    top_up(acme, 500, T0 + MINUTE)
    services.check_balance_alerts(organisation=acme, now=T0 + MINUTE)
    assert LowBalanceAlert.objects.get(pk=acme.pk).armed is True
    spend(acme, 450, T0 + 2 * MINUTE)
    services.check_balance_alerts(organisation=acme, now=T0 + 2 * MINUTE)
    # Then a second e-mail went, for this second crossing
    assert len(mailoutbox) == 2
    assert mailoutbox[1].subject == "Low balance at Acme: 450 credits available"


def test_the_job_alerts_each_crossing_once_and_rearms_in_bulk_b1(acme, mailoutbox):
    # Given the balance crosses 500 downwards
    spend(acme, 600, T0)
    # When the every-minute job runs twice
    assert services.run_balance_alerts(now=T0) == 1
    assert services.run_balance_alerts(now=T0 + MINUTE) == 0
    # Then one e-mail; when credits come back to 700 the job re-arms, and a new crossing alerts
    top_up(acme, 300, T0 + 2 * MINUTE)
    assert services.run_balance_alerts(now=T0 + 2 * MINUTE) == 0
    assert LowBalanceAlert.objects.get(pk=acme.pk).rearmed_at == T0 + 2 * MINUTE
    spend(acme, 300, T0 + 3 * MINUTE)
    assert services.run_balance_alerts(now=T0 + 3 * MINUTE) == 1
    assert len(mailoutbox) == 2


def test_credits_held_for_scheduled_work_count_as_not_available_b1_s2(acme, mailoutbox):
    # Given 1,000 credits, 600 of them held for work that runs later
    services.hold(client=own_client(acme), credits=600, expires_at=T0 + timedelta(days=1), now=T0)
    # When the job runs, then the owner hears of 400 available
    services.run_balance_alerts(now=T0)
    assert mailoutbox[0].subject == "Low balance at Acme: 400 credits available"


def test_a_threshold_of_zero_sends_nothing_b1(organisation, mailoutbox):
    # Given 10 credits and no threshold (0, the default)
    top_up(organisation, 10, T0)
    # When the job and the check run, then nothing is sent and no state is written
    services.run_balance_alerts(now=T0)
    services.check_balance_alerts(organisation=organisation, now=T0)
    assert (mailoutbox, LowBalanceAlert.objects.count(), Notice.objects.count()) == ([], 0, 0)


def test_only_organisations_under_their_threshold_are_alerted_by_the_job_b1(
    acme, make_organisation, mailoutbox
):
    # Given Acme under its threshold, and Beta above its own
    beta = make_organisation("beta", name="Beta")
    top_up(beta, 1000, T0)
    services.set_alert_policy(
        organisation=beta, reminder_days=30, second_reminder_days=7, low_balance_threshold=999
    )
    spend(acme, 600, T0)
    # When the job runs, then only Acme's owner is e-mailed
    services.run_balance_alerts(now=T0)
    assert [message.to for message in mailoutbox] == [["acme-owner@test.example"]]


def test_a_bad_threshold_is_refused_and_changes_nothing_b1_x6(acme):
    # When the owner gives a negative threshold, or one past the bounds
    for wrong in (-1, 10**13, "500", 2.5):
        with pytest.raises(InvalidAmount, match="The threshold is a whole number of credits"):
            services.set_alert_policy(
                organisation=acme,
                reminder_days=30,
                second_reminder_days=7,
                low_balance_threshold=wrong,
            )
    # Then the pool keeps its policy
    pool = CreditPool.objects.get(pk=acme.pk)
    assert (pool.low_balance_threshold, pool.reminder_days, pool.second_reminder_days) == (
        500,
        30,
        7,
    )


def test_the_beat_tasks_run_the_jobs_k2(organisation, mailoutbox):
    """The tasks the beat calls (credits.run_balance_alerts every minute,
    credits.send_expiry_reminders daily) run their job with the current time."""
    from django.utils import timezone

    from credits import tasks

    # Given 10 credits now, under a threshold of 100, and 10 more expiring in 5 days
    now = timezone.now()
    top_up(organisation, 10, now)
    services.grant(
        organisation=organisation,
        credits=10,
        source=LotSource.PURCHASE,
        expires_at=now + timedelta(days=5),
        now=now,
    )
    services.set_alert_policy(
        organisation=organisation,
        reminder_days=30,
        second_reminder_days=7,
        low_balance_threshold=100,
    )
    # When the beat runs both tasks, then one alert and one reminder went
    assert tasks.run_balance_alerts() == 1
    assert tasks.send_expiry_reminders() == {"organisations": 1, "reminders": 1, "sent": 1}
    assert len(mailoutbox) == 2
