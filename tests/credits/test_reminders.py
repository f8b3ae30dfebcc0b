"""Expiry reminders e-mailed to the owners at the organisation's lead times (D3, K2).

The job is `credits.services.send_expiry_reminders(now=...)`; every test moves `now` the way
the daily beat would. Lead times are 30 and 7 days unless a test sets them.
"""

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.core.mail.backends.base import BaseEmailBackend

from clients.models import Client, ClientKind
from credits import services
from credits.exceptions import InvalidAmount
from credits.models import ExpiryReminder, Lot, LotSource, Notice
from credits.selectors import alerts as selectors
from tests.credits.conftest import T0

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


class RefusingBackend(BaseEmailBackend):
    """A mail server that refuses everything, as one that is down would."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server down")


def own_client(organisation) -> Client:
    return Client.objects.get(organisation=organisation, kind=ClientKind.OWN)


def lot(organisation, credits: int, expires_at, *, source=LotSource.PURCHASE, now=T0):
    return services.grant(
        organisation=organisation, credits=credits, source=source, expires_at=expires_at, now=now
    )


@pytest.fixture
def deepetch(make_organisation):
    """Credits lapse after 12 months without use (D3)."""
    return make_organisation("deepetch", name="Deepetch", preset="translation")


def test_an_inactivity_expiry_12_months_after_the_last_use_is_reminded_30_days_before_once_d3(
    deepetch, mailoutbox
):
    # Given 1,000 credits bought (a use) at T0: they lapse 12 months later
    lot(deepetch, 1000, None)
    deadline = T0 + relativedelta(months=12)
    # When the job runs 31 days before the deadline
    services.send_expiry_reminders(now=deadline - 31 * DAY)
    # Then nothing yet
    assert mailoutbox == []
    # When it runs 30 days before, then again the same day and the day after
    services.send_expiry_reminders(now=deadline - 30 * DAY)
    services.send_expiry_reminders(now=deadline - 30 * DAY + timedelta(hours=1))
    services.send_expiry_reminders(now=deadline - 29 * DAY)
    # Then exactly one e-mail went, to the owner, saying how much lapses on which day
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["deepetch-owner@test.example"]
    assert message.subject == "Your credits at Deepetch expire on 15 January 2027 unless used"
    assert "unless credits are used before 15 January 2027, the 1,000 credits" in message.body
    assert list(ExpiryReminder.objects.values_list("lot_id", "lead_days", "credits")) == [
        (None, 30, 1000)
    ]


def test_a_new_use_pushes_the_inactivity_deadline_and_its_reminders_start_again_d3(
    deepetch, mailoutbox
):
    # Given credits reminded 30 days before their inactivity deadline
    lot(deepetch, 1000, None)
    first_deadline = T0 + relativedelta(months=12)
    services.send_expiry_reminders(now=first_deadline - 30 * DAY)
    # When the owner uses 10 credits 20 days before it (the deadline moves 12 months on)
    used_at = first_deadline - 20 * DAY
    services.debit(client=own_client(deepetch), credits=10, action_code="x", now=used_at)
    new_deadline = used_at + relativedelta(months=12)
    services.send_expiry_reminders(now=used_at + DAY)
    # Then nothing is due until 30 days before the new deadline, when 990 credits are reminded
    assert len(mailoutbox) == 1
    services.send_expiry_reminders(now=new_deadline - 30 * DAY)
    assert len(mailoutbox) == 2
    assert "the 990 credits" in mailoutbox[1].body


def test_a_lot_expiring_in_30_days_gets_one_reminder_per_lead_time_d3(organisation, mailoutbox):
    # Given 500 credits expiring in 30 days (lead times 30 and 7 days)
    expiry = T0 + 30 * DAY
    bought = lot(organisation, 500, expiry)
    # When the daily job runs every day until the expiry
    for day in range(30):
        services.send_expiry_reminders(now=T0 + day * DAY)
    # Then two e-mails went: 30 days before, then 7 days before, never twice for one lead time
    assert len(mailoutbox) == 2
    assert all("14 February 2026: 500 credits" in message.body for message in mailoutbox)
    assert list(
        ExpiryReminder.objects.order_by("created_at").values_list(
            "lot_id", "lead_days", "created_at"
        )
    ) == [(bought.pk, 30, T0), (bought.pk, 7, T0 + 23 * DAY)]


def test_a_lot_first_seen_inside_the_closest_lead_time_gets_only_that_reminder_d3(
    organisation, mailoutbox
):
    # Given a lot that arrives 5 days before its expiry
    lot(organisation, 80, T0 + 5 * DAY)
    # When the job runs on two days
    services.send_expiry_reminders(now=T0)
    services.send_expiry_reminders(now=T0 + DAY)
    # Then one reminder, at the 7-day lead time (not the 30-day one as well)
    assert len(mailoutbox) == 1
    assert list(ExpiryReminder.objects.values_list("lead_days", flat=True)) == [7]


def test_spent_credits_get_no_reminder_d3(organisation, mailoutbox):
    # Given a lot expiring in 20 days whose 100 credits were all spent
    lot(organisation, 100, T0 + 20 * DAY)
    services.debit(client=own_client(organisation), credits=100, action_code="x", now=T0)
    # When the job runs
    run = services.send_expiry_reminders(now=T0 + timedelta(hours=1))
    # Then nothing is sent or recorded
    assert (run.reminders, mailoutbox, ExpiryReminder.objects.count()) == (0, [], 0)


def test_the_email_states_the_credits_still_remaining_when_it_is_sent_d3(organisation, mailoutbox):
    # Given 100 credits expiring in 20 days, 40 of them spent
    lot(organisation, 100, T0 + 20 * DAY)
    services.debit(client=own_client(organisation), credits=40, action_code="x", now=T0)
    # When the job runs
    services.send_expiry_reminders(now=T0 + timedelta(hours=1))
    # Then the e-mail speaks of the 60 left
    assert "4 February 2026: 60 credits" in mailoutbox[0].body
    assert ExpiryReminder.objects.get().credits == 60


def test_one_email_per_organisation_per_run_lists_its_lots_by_day_d3(
    organisation, make_organisation, mailoutbox
):
    # Given two lots of Acme expiring the same day, one another day, and a lot of Beta
    lot(organisation, 100, T0 + 10 * DAY)
    lot(organisation, 50, T0 + 10 * DAY + timedelta(hours=2))
    lot(organisation, 30, T0 + 20 * DAY)
    beta = make_organisation("beta", name="Beta")
    lot(beta, 70, T0 + 3 * DAY)
    # When the job runs once
    run = services.send_expiry_reminders(now=T0)
    # Then one e-mail per organisation, Acme's listing each day with its credits
    assert (run.organisations, run.reminders, run.sent) == (2, 4, 2)
    by_recipient = {message.to[0]: message for message in mailoutbox}
    assert set(by_recipient) == {"acme-owner@test.example", "beta-owner@test.example"}
    acme = by_recipient["acme-owner@test.example"].body
    assert "- 25 January 2026: 150 credits\n- 4 February 2026: 30 credits" in acme
    assert by_recipient["acme-owner@test.example"].subject == "Credits expiring soon at Acme"


def test_plan_allowances_are_not_reminded_m2_d3(organisation, mailoutbox):
    # Given a plan's included credits, which lapse with their cycle by design
    lot(organisation, 200, T0 + 10 * DAY, source=LotSource.PLAN_ALLOWANCE)
    # When the job runs, then it sends nothing
    services.send_expiry_reminders(now=T0)
    assert mailoutbox == []


def test_a_refused_email_is_sent_by_the_next_run_and_only_once_d3(
    organisation, mailoutbox, settings
):
    # Given a lot due its 30-day reminder, and a mail server that refuses
    lot(organisation, 500, T0 + 30 * DAY)
    settings.EMAIL_BACKEND = "tests.credits.test_reminders.RefusingBackend"
    # When the job runs
    first = services.send_expiry_reminders(now=T0)
    # Then the reminder is recorded and its notice failed, with the server's answer
    notice = Notice.objects.get()
    assert (first.sent, notice.status, notice.attempts) == (0, "failed", 1)
    assert notice.error == "ConnectionRefusedError: mail server down"
    # When the server is back and the job runs the next day, and the day after
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    second = services.send_expiry_reminders(now=T0 + DAY)
    services.send_expiry_reminders(now=T0 + 2 * DAY)
    # Then the same e-mail went once, and no second reminder was recorded
    notice.refresh_from_db()
    assert (second.sent, len(mailoutbox), notice.status, notice.sent_at) == (
        1,
        1,
        "sent",
        T0 + DAY,
    )
    assert ExpiryReminder.objects.count() == 1


def test_an_organisation_without_owner_email_records_the_reminder_as_unsendable_d3(
    organisation, mailoutbox, django_user_model
):
    # Given the owner has no e-mail address
    django_user_model.objects.filter(username="acme-owner").update(email="")
    lot(organisation, 500, T0 + 30 * DAY)
    # When the job runs twice
    services.send_expiry_reminders(now=T0)
    services.send_expiry_reminders(now=T0 + DAY)
    # Then nothing is sent, and the log says why, once
    assert mailoutbox == []
    assert list(Notice.objects.values_list("status", "recipients")) == [("none", [])]


def test_the_due_lots_of_every_organisation_are_found_in_two_queries_d3(
    make_organisation, django_assert_num_queries
):
    # Given 3 organisations with 4 lots each expiring within the lead time
    for slug in ("one", "two", "three"):
        organisation = make_organisation(slug)
        for day in range(4):
            lot(organisation, 10, T0 + (day + 1) * DAY)
    # When the job looks for what is due, then it reads the longest lead time and the lots:
    # two queries, whatever the number of lots
    with django_assert_num_queries(2):
        due = selectors.due_lot_reminders(now=T0)
    assert len(due) == 12


def test_a_lot_whose_expiry_is_extended_is_reminded_again_before_its_new_date_s4_d3(
    organisation, mailoutbox
):
    # Given a lot reminded 7 days before its expiry
    bought = lot(organisation, 100, T0 + 7 * DAY)
    services.send_expiry_reminders(now=T0)
    # When its expiry moves a year on (a purchase that extends the credits held, S4)
    Lot.objects.filter(pk=bought.pk).update(expires_at=T0 + 372 * DAY)
    # Then the new date earns its own reminders
    services.send_expiry_reminders(now=T0 + 342 * DAY)
    assert len(mailoutbox) == 2
    assert sorted(ExpiryReminder.objects.values_list("lead_days", flat=True)) == [7, 30]


def test_owners_set_lead_times_and_a_second_one_must_come_after_the_first_d3(organisation):
    # When the owner asks for reminders 60 and 10 days before
    pool = services.set_alert_policy(
        organisation=organisation,
        reminder_days=60,
        second_reminder_days=10,
        low_balance_threshold=0,
    )
    # Then those are the lead times
    assert pool.reminder_lead_days == (60, 10)
    # And a second reminder before the first is refused, changing nothing
    with pytest.raises(InvalidAmount, match="The second reminder comes after the first"):
        services.set_alert_policy(
            organisation=organisation,
            reminder_days=10,
            second_reminder_days=20,
            low_balance_threshold=0,
        )
    pool.refresh_from_db()
    assert (pool.reminder_days, pool.second_reminder_days) == (60, 10)


def test_the_back_office_shows_reminders_and_notices_read_only_k1(organisation, admin_client):
    # Given a reminder sent
    lot(organisation, 500, T0 + 30 * DAY)
    services.send_expiry_reminders(now=T0)
    # When staff open the lists, then they see them, and may not add or change one
    for model in ("notice", "expiryreminder", "lowbalancealert"):
        assert admin_client.get(f"/admin/credits/{model}/").status_code == 200, model
        assert admin_client.get(f"/admin/credits/{model}/add/").status_code == 403, model
    notice = Notice.objects.get()
    page = admin_client.get(f"/admin/credits/notice/{notice.pk}/change/")
    assert page.status_code == 200
    assert b'name="subject"' not in page.content
