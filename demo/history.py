"""Months of history for the demo organisations, made through the services only and in
the order it happened: purchases with their invoices and PDFs, plan renewals, assignments
and limits, and consumptions priced by each organisation's rate card (free actions too, C1).

Deterministic (a seeded random generator and a fixed number of months before `now`), so two
runs of the demo tell the same story.
"""

import contextlib
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.contrib.auth import get_user_model

from billing import services as billing
from billing.models import Package, Plan
from clients.models import Client, ClientKind, Organisation
from credits import services
from credits.exceptions import CreditsError
from credits.models import LotSource

HISTORY_MONTHS = 6
REMINDER = "Reminder: your appointment is tomorrow at 10:00. Reply STOP to opt out."
NEWSLETTER = (
    "Spring sale: -20% on every order until Sunday with the code SPRING. "
    "Find the new collection in store and online, free delivery from 50 EUR. Reply STOP to opt out."
)

Event = tuple[datetime, int, Callable[[], None]]


class Story:
    """Events of one organisation, run in time order (ties in the order they were added)."""

    def __init__(self, organisation: Organisation, start: datetime, now: datetime) -> None:
        self.organisation = organisation
        self.start = start
        self.now = now
        self.rng = random.Random(organisation.slug)
        self.people = list(
            get_user_model()
            .objects.filter(memberships__organisation=organisation)
            .order_by("username")
        )
        self.owner = self.people[2]  # <slug>-owner sorts after -admin and -member
        self.clients = sorted(
            organisation.clients.all(), key=lambda c: (c.kind != ClientKind.OWN, c.pk)
        )
        self.events: list[Event] = []

    def at(self, when: datetime, action: Callable[[], None]) -> None:
        if when < self.now:
            self.events.append((when, len(self.events), action))

    def person(self):
        return self.rng.choice(self.people)

    def spend(self, client: Client, action: str, when: datetime, **params) -> None:
        """Consume if the client can: a refusal (limit reached, credits short) is part of
        the story a real account has, and changes nothing."""
        actor = self.person()

        def run() -> None:
            with contextlib.suppress(CreditsError):
                services.consume(client=client, action=action, params=params, actor=actor, now=when)

        self.at(when, run)

    def buy(self, when: datetime, *, credits=None, package=None, method="card", paid_after=None):
        def run() -> None:
            bought = billing.purchase(
                organisation=self.organisation,
                credits=credits,
                package=package,
                method=method,
                actor=self.owner,
                now=when,
            )
            if paid_after is not None and when + paid_after < self.now:
                billing.record_payment(
                    invoice=bought.invoice, now=when + paid_after, method="transfer"
                )

        self.at(when, run)

    def buy_then_void(self, when: datetime, *, credits: int, reason: str) -> None:
        """An order placed twice by mistake, cancelled by a credit note before any of its
        credits were used (S7)."""

        def run() -> None:
            bought = billing.purchase(
                organisation=self.organisation,
                credits=credits,
                method="card",
                actor=self.owner,
                now=when,
            )
            billing.void_invoice(
                invoice=bought.invoice,
                reason=reason,
                now=when + timedelta(minutes=20),
                actor=self.owner,
            )

        self.at(when, run)

    def months(self):
        month = self.start
        while month < self.now:
            yield month
            month += relativedelta(months=1)

    def working_days(self):
        day = self.start
        while day < self.now:
            if day.weekday() < 5:
                yield day
            day += timedelta(days=1)

    def run(self) -> None:
        for _when, _order, action in sorted(self.events, key=lambda event: event[:2]):
            action()


def _data_provider(story: Story) -> None:
    own, sales, marketing = story.clients[:3]
    services.set_spending_limit(client=sales, kind="monthly", limit=1500, now=story.start)
    services.set_spending_limit(client=marketing, kind="fixed", limit=4000, now=story.start)
    rng = story.rng
    for month in story.months():
        story.buy(month, credits=3000)
    story.buy_then_void(
        story.start + timedelta(days=40, minutes=30),
        credits=3000,
        reason="Commande passée deux fois",
    )
    # A welcome offer that lapses within the reminder lead time: the home page warns (B4).
    offered = story.now - timedelta(days=3)
    story.at(
        offered,
        lambda: services.grant(
            organisation=story.organisation,
            credits=2000,
            source=LotSource.PROMOTION,
            expires_at=story.now + timedelta(days=25),
            reference="Welcome offer",
            now=offered,
        ),
    )
    for day in story.working_days():
        hour = day.replace(hour=9 + rng.randrange(8))
        for action in rng.sample(["search", "company_view", "favourite", "alert"], 2):
            story.spend(rng.choice([sales, marketing]), action, hour)
        story.spend(sales, "data_export", hour, rows=rng.randrange(20, 120))
        if rng.random() < 0.5:
            story.spend(marketing, "crm_enrichment", hour, records=rng.randrange(5, 40))
        if rng.random() < 0.1:
            story.spend(own, "email_campaign", hour, recipients=150)


def _translation(story: Story) -> None:
    legal, marketing, support = story.clients[1:4]
    services.set_spending_limit(client=legal, kind="monthly", limit=2000, now=story.start)
    services.set_spending_limit(client=marketing, kind="monthly", limit=1500, now=story.start)
    services.set_spending_limit(client=support, kind="fixed", limit=3000, now=story.start)
    rng = story.rng
    for index, month in enumerate(story.months()):
        if index % 2 == 0:  # D1: enterprise orders, invoiced, paid by transfer 20 days later
            # except the last one, left unpaid: it is overdue by now
            paid_after = timedelta(days=20) if index < HISTORY_MONTHS - 2 else None
            story.buy(month, credits=15000, method="enterprise_terms", paid_after=paid_after)
    for day in story.working_days():
        hour = day.replace(hour=8 + rng.randrange(9))
        for client, service, complexity in (
            (legal, "legal", "complex"),
            (marketing, "marketing", "standard"),
            (support, "general", "simple"),
        ):
            if rng.random() < 0.6:
                story.spend(
                    client,
                    "translation",
                    hour,
                    service=service,
                    complexity=complexity,
                    pages=rng.randrange(1, 6),
                )


def _sms(story: Story) -> None:
    org, rng = story.organisation, story.rng
    newsletter, vip, reminders = story.clients[1:4]
    services.set_spending_limit(client=newsletter, kind="monthly", limit=6000, now=story.start)
    package = Package.objects.get(name="SMS 20 000")
    story.buy(story.start, package=package)
    story.at(
        story.start + timedelta(minutes=5),
        lambda: services.assign(
            organisation=org,
            client=vip,
            credits=3000,
            now=story.start + timedelta(minutes=5),
            reference="VIP budget",
            comment="Reserved for VIP campaigns",
            actor=story.owner,
        ),
    )
    story.buy(story.start + relativedelta(months=3), package=package)
    # B2: from the fourth month, an automatic top-up of 10,000 credits under 15,000 available,
    # at most 1,500 EUR a month; the every-minute job is played once a day, after the sends.
    switched_on = story.start + relativedelta(months=3, days=1)
    story.at(
        switched_on,
        lambda: billing.configure_auto_top_up(
            organisation=org,
            enabled=True,
            threshold=15000,
            credits=10000,
            monthly_cap=Decimal("1500.00"),
            now=switched_on,
        ),
    )
    budget = story.now - timedelta(days=10)
    story.at(
        budget,
        lambda: services.assign(
            organisation=org,
            client=reminders,
            credits=2000,
            now=budget,
            reference="Q4 reminders",
            comment="Appointment reminders until the end of the year",
            actor=story.owner,
        ),
    )
    for day in story.working_days():
        hour = day.replace(hour=10)
        recipients = ["IT"] * rng.randrange(30, 150) + ["FR"] * rng.randrange(0, 10)
        story.spend(reminders, "sms", hour, text=REMINDER, recipients=recipients)
        if day.weekday() == 0:
            audience = ["IT"] * rng.randrange(100, 300) + ["DE"] * rng.randrange(0, 40)
            _campaign(story, newsletter, hour, audience, sent=rng.random() < 0.8)
        if day.weekday() == 3 and rng.random() < 0.5:
            vip_list = ["FR"] * rng.randrange(50, 150) + ["CH"] * rng.randrange(0, 20)
            story.spend(vip, "sms", hour, text=NEWSLETTER, recipients=vip_list)
        evening = day.replace(hour=20)
        if evening >= switched_on:
            story.at(
                evening,
                lambda evening=evening: billing.run_auto_top_up(organisation=org, now=evening),
            )


def _campaign(story: Story, client: Client, when: datetime, audience: list, *, sent: bool):
    """S2: a scheduled campaign holds its credits, then is sent (captured) or cancelled."""
    held: list = []

    def schedule() -> None:
        with contextlib.suppress(CreditsError):
            held.append(
                services.hold_action(
                    client=client,
                    action="sms",
                    params={"text": NEWSLETTER, "recipients": audience},
                    expires_at=when + timedelta(days=3),
                    now=when,
                    actor=story.owner,
                )
            )

    def resolve() -> None:
        if held and sent:
            services.capture(hold=held[0], now=when + timedelta(days=1))
        elif held:
            services.release(hold=held[0], now=when + timedelta(hours=5))

    story.at(when, schedule)
    story.at(when + (timedelta(days=1) if sent else timedelta(hours=5)), resolve)


def _crm(story: Story) -> None:
    rng = story.rng
    own, front_desk, field_sales = story.clients[:3]
    growth = Plan.objects.get(code="growth")
    story.at(
        story.start,
        lambda: billing.subscribe(
            organisation=story.organisation, plan=growth, now=story.start, actor=story.owner
        ),
    )
    for index, month in enumerate(story.months()):
        if index:
            story.at(month, lambda month=month: billing.renew_due(now=month))
        if index % 2 == 1:
            story.buy(month + timedelta(days=12), credits=1000)
    for day in story.working_days():
        hour = day.replace(hour=11)
        story.spend(front_desk, "login", hour)
        story.spend(front_desk, "dashboard", hour)
        for _ in range(rng.randrange(1, 5)):
            story.spend(front_desk, "form_submission", hour)
        if rng.random() < 0.4:
            story.spend(field_sales, "sms", hour, messages=rng.randrange(1, 6))
        if rng.random() < 0.2:
            story.spend(own, rng.choice(["ai_summary", "ai_email_draft"]), hour)


def _serious_game(story: Story) -> None:
    org, rng = story.organisation, story.rng
    acme, globex, initech = story.clients[1:4]
    for index, month in enumerate(story.months()):
        story.buy(month, credits=600)
        for client, learners in ((acme, 40), (globex, 25), (initech, 20)):
            if index % 2 == 0 or client is acme:
                when = month + timedelta(hours=1)
                story.at(
                    when,
                    lambda client=client, learners=learners, when=when: services.assign(
                        organisation=org,
                        client=client,
                        credits=learners * 6 // 2,
                        now=when,
                        reference=f"PO-{when:%Y%m}-{client.pk}",
                        comment=f"{learners // 2} learners",
                        actor=story.owner,
                    ),
                )
    for day in story.working_days():
        hour = day.replace(hour=14)
        for client in (acme, globex, initech):
            if rng.random() < 0.3:
                story.spend(
                    client,
                    "enrolment",
                    hour,
                    learners=rng.randrange(1, 3),
                    game="Cyber-security basics",
                )
            if rng.random() < 0.3:
                story.spend(client, "campus_visit", hour)


SCENARIOS: dict[str, Callable[[Story], None]] = {
    "data_provider": _data_provider,
    "translation": _translation,
    "sms": _sms,
    "crm": _crm,
    "serious_game": _serious_game,
}


def make_history(organisation: Organisation, preset: str, *, now: datetime) -> None:
    start = (now - relativedelta(months=HISTORY_MONTHS)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    story = Story(organisation, start, now)
    SCENARIOS[preset](story)
    story.run()
    services.expire_due(now=now)
    services.reset_monthly(now=now)
    billing.mark_overdue(now=now)
    # What the alert jobs would have sent by now: expiry reminders, low balance (D3, B1).
    services.send_expiry_reminders(now=now)
    services.check_balance_alerts(organisation=organisation, now=now)
    services.roll_up_usage(now=now)  # usage reports read closed days from the roll-up
