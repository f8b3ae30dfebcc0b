"""Months of credit history for the demo organisations, made through the services only:
purchases and allowances as lots, assignments and limits, and consumptions priced by each
organisation's rate card (free actions included, C1).

Deterministic (a seeded random generator and a fixed number of months before `now`), so two
runs of the demo tell the same story.
"""

import contextlib
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.contrib.auth import get_user_model

from clients.models import Client, ClientKind, Organisation
from credits import services
from credits.exceptions import CreditsError

HISTORY_MONTHS = 6
REMINDER = "Reminder: your appointment is tomorrow at 10:00. Reply STOP to opt out."
NEWSLETTER = (
    "Spring sale: -20% on every order until Sunday with the code SPRING. "
    "Find the new collection in store and online, free delivery from 50 EUR. Reply STOP to opt out."
)


def _people(organisation: Organisation) -> list:
    return list(
        get_user_model().objects.filter(memberships__organisation=organisation).order_by("username")
    )


def _spend(client: Client, action: str, when: datetime, actor, **params) -> None:
    """Consume if the client can; a refusal (limit reached, credits short) is part of the story
    a real account has, and changes nothing."""
    with contextlib.suppress(CreditsError):
        services.consume(client=client, action=action, params=params, actor=actor, now=when)


def _working_days(start: datetime, end: datetime):
    day = start
    while day < end:
        if day.weekday() < 5:
            yield day
        day += timedelta(days=1)


def _buy(org: Organisation, credits: int, when: datetime, unit_cost: str, reference: str, actor):
    services.grant(
        organisation=org,
        credits=credits,
        source="purchase",
        now=when,
        unit_cost=unit_cost,
        reference=reference,
        actor=actor,
    )


def _data_provider(org: Organisation, clients: list[Client], start, now, rng, people) -> None:
    sales, marketing = clients[1], clients[2]
    services.set_spending_limit(client=sales, kind="monthly", limit=1500, now=start)
    services.set_spending_limit(client=marketing, kind="fixed", limit=4000, now=start)
    month = start
    while month < now:
        _buy(org, 3000, month, "0.1000", f"Pack 3000 {month:%Y-%m}", people[2])
        month += relativedelta(months=1)
    for day in _working_days(start, now):
        hour = day.replace(hour=9 + rng.randrange(8))
        for action in rng.sample(["search", "company_view", "favourite", "alert"], 2):
            _spend(rng.choice([sales, marketing]), action, hour, rng.choice(people))
        _spend(sales, "data_export", hour, rng.choice(people), rows=rng.randrange(20, 120))
        if rng.random() < 0.5:
            _spend(
                marketing, "crm_enrichment", hour, rng.choice(people), records=rng.randrange(5, 40)
            )
        if rng.random() < 0.1:
            _spend(clients[0], "email_campaign", hour, people[2], recipients=150)


def _translation(org: Organisation, clients: list[Client], start, now, rng, people) -> None:
    legal, marketing, support = clients[1:4]
    services.set_spending_limit(client=legal, kind="monthly", limit=2000, now=start)
    services.set_spending_limit(client=marketing, kind="monthly", limit=1500, now=start)
    services.set_spending_limit(client=support, kind="fixed", limit=3000, now=start)
    order = start
    while order < now:
        _buy(org, 15000, order, "0.0800", f"Enterprise order {order:%Y-%m}", people[2])
        order += relativedelta(months=2)
    for day in _working_days(start, now):
        hour = day.replace(hour=8 + rng.randrange(9))
        for client, service, complexity in (
            (legal, "legal", "complex"),
            (marketing, "marketing", "standard"),
            (support, "general", "simple"),
        ):
            if rng.random() < 0.6:
                _spend(client, "translation", hour, rng.choice(people), service=service,
                       complexity=complexity, pages=rng.randrange(1, 6))  # fmt: skip


def _sms(org: Organisation, clients: list[Client], start, now, rng, people) -> None:
    newsletter, vip, reminders = clients[1:4]
    services.set_spending_limit(client=newsletter, kind="monthly", limit=6000, now=start)
    _buy(org, 20000, start, "0.0450", "Package 20000", people[2])
    services.assign(organisation=org, client=vip, credits=3000, now=start, reference="VIP budget",
                    comment="Reserved for VIP campaigns", actor=people[2])  # fmt: skip
    _buy(org, 20000, start + relativedelta(months=3), "0.0480", "Package 20000", people[2])
    for day in _working_days(start, now):
        hour = day.replace(hour=10)
        recipients = ["IT"] * rng.randrange(30, 150) + ["FR"] * rng.randrange(0, 10)
        _spend(reminders, "sms", hour, rng.choice(people), text=REMINDER, recipients=recipients)
        if day.weekday() == 0:
            audience = ["IT"] * rng.randrange(100, 300) + ["DE"] * rng.randrange(0, 40)
            try:
                campaign = services.hold_action(
                    client=newsletter, action="sms", params={"text": NEWSLETTER,
                    "recipients": audience}, expires_at=hour + timedelta(days=3), now=hour,
                    actor=people[2],
                )  # fmt: skip
            except CreditsError:
                continue
            if rng.random() < 0.8:
                services.capture(hold=campaign, now=hour + timedelta(days=1))
            else:
                services.release(hold=campaign, now=hour + timedelta(hours=5))
        if day.weekday() == 3 and rng.random() < 0.5:
            vip_list = ["FR"] * rng.randrange(50, 150) + ["CH"] * rng.randrange(0, 20)
            _spend(vip, "sms", hour, people[2], text=NEWSLETTER, recipients=vip_list)


def _crm(org: Organisation, clients: list[Client], start, now, rng, people) -> None:
    front_desk, field_sales = clients[1:3]
    cycle = start
    while cycle < now:
        services.grant(organisation=org, credits=500, source="plan_allowance", now=cycle,
                       expires_at=cycle + relativedelta(months=1),
                       reference=f"Growth plan {cycle:%B %Y}")  # fmt: skip
        if cycle.month % 2 == 0:
            _buy(org, 1000, cycle, "0.0500", "Credit top-up 1000", people[2])
        cycle += relativedelta(months=1)
    for day in _working_days(start, now):
        hour = day.replace(hour=11)
        _spend(front_desk, "login", hour, rng.choice(people))
        _spend(front_desk, "dashboard", hour, rng.choice(people))
        for _ in range(rng.randrange(1, 5)):
            _spend(front_desk, "form_submission", hour, rng.choice(people))
        if rng.random() < 0.4:
            _spend(field_sales, "sms", hour, rng.choice(people), messages=rng.randrange(1, 6))
        if rng.random() < 0.2:
            _spend(clients[0], rng.choice(["ai_summary", "ai_email_draft"]), hour, people[2])


def _serious_game(org: Organisation, clients: list[Client], start, now, rng, people) -> None:
    acme, globex, initech = clients[1:4]
    month = start
    for index in range(HISTORY_MONTHS):
        _buy(org, 600, month, "1.8000", f"Credits {month:%Y-%m}", people[2])
        for client, learners in ((acme, 40), (globex, 25), (initech, 20)):
            if index % 2 == 0 or client is acme:
                services.assign(organisation=org, client=client, credits=learners * 6 // 2,
                                now=month, reference=f"PO-{month:%Y%m}-{client.pk}",
                                comment=f"{learners // 2} learners", actor=people[2])  # fmt: skip
        month += relativedelta(months=1)
    for day in _working_days(start, now):
        hour = day.replace(hour=14)
        for client in (acme, globex, initech):
            if rng.random() < 0.3:
                _spend(client, "enrolment", hour, rng.choice(people), learners=rng.randrange(1, 3),
                       game="Cyber-security basics")  # fmt: skip
            if rng.random() < 0.3:
                _spend(client, "campus_visit", hour, rng.choice(people))


SCENARIOS: dict[str, Callable] = {
    "data_provider": _data_provider,
    "translation": _translation,
    "sms": _sms,
    "crm": _crm,
    "serious_game": _serious_game,
}


def make_history(organisation: Organisation, preset: str, *, now: datetime) -> None:
    clients = sorted(organisation.clients.all(), key=lambda c: (c.kind != ClientKind.OWN, c.pk))
    start = (now - relativedelta(months=HISTORY_MONTHS)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    rng = random.Random(organisation.slug)
    SCENARIOS[preset](organisation, clients, start, now, rng, _people(organisation))
    services.expire_due(now=now)
    services.reset_monthly(now=now)
