"""Months of credit history for the demo organisations, made through the services only.

Deterministic (a seeded random generator and a fixed number of days before `now`), so two
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


def _people(organisation: Organisation) -> list:
    return list(
        get_user_model().objects.filter(memberships__organisation=organisation).order_by("username")
    )


def _spend(client: Client, credits: int, action: str, when: datetime, actor, **params) -> None:
    """Spend if the client can; a refusal (limit reached, credits short) is part of the story
    a real account has, and changes nothing."""
    with contextlib.suppress(CreditsError):
        services.debit(
            client=client,
            credits=credits,
            action_code=action,
            params=params,
            actor=actor,
            now=when,
        )


def _working_days(start: datetime, end: datetime):
    day = start
    while day < end:
        if day.weekday() < 5:
            yield day
        day += timedelta(days=1)


def _data_provider(org: Organisation, clients: list[Client], start, now, rng, people) -> None:
    sales, marketing = clients[1], clients[2]
    services.set_spending_limit(client=sales, kind="monthly", limit=1500, now=start)
    services.set_spending_limit(client=marketing, kind="fixed", limit=4000, now=start)
    month = start
    while month < now:
        services.grant(
            organisation=org,
            credits=3000,
            source="purchase",
            now=month,
            unit_cost="0.1000",
            reference=f"Pack 3000 {month:%Y-%m}",
            actor=people[2],
        )
        month += relativedelta(months=1)
    for day in _working_days(start, now):
        hour = day.replace(hour=9 + rng.randrange(8))
        rows = rng.randrange(20, 120)
        _spend(sales, rows, "data_export", hour, rng.choice(people), rows=rows)
        if rng.random() < 0.5:
            records = rng.randrange(5, 40)
            _spend(
                marketing, records * 2, "crm_enrichment", hour, rng.choice(people), records=records
            )
        if rng.random() < 0.1:
            _spend(clients[0], 150, "email_campaign", hour, people[2], recipients=1500)


def _translation(org: Organisation, clients: list[Client], start, now, rng, people) -> None:
    legal, marketing, support = clients[1:4]
    services.set_spending_limit(client=legal, kind="monthly", limit=2000, now=start)
    services.set_spending_limit(client=marketing, kind="monthly", limit=1500, now=start)
    services.set_spending_limit(client=support, kind="fixed", limit=3000, now=start)
    quarter = start
    while quarter < now:
        services.grant(
            organisation=org,
            credits=15000,
            source="purchase",
            now=quarter,
            unit_cost="0.0800",
            reference=f"Enterprise order {quarter:%Y-%m}",
            actor=people[2],
        )
        quarter += relativedelta(months=2)
    costs = {("general", "simple"): 20, ("legal", "complex"): 120, ("marketing", "standard"): 60}
    for day in _working_days(start, now):
        hour = day.replace(hour=8 + rng.randrange(9))
        for client, service, complexity in (
            (legal, "legal", "complex"),
            (marketing, "marketing", "standard"),
            (support, "general", "simple"),
        ):
            if rng.random() < 0.6:
                words = rng.randrange(1, 6)
                _spend(
                    client,
                    costs[service, complexity] * words,
                    "translation",
                    hour,
                    rng.choice(people),
                    service=service,
                    complexity=complexity,
                    pages=words,
                )


def _sms(org: Organisation, clients: list[Client], start, now, rng, people) -> None:
    newsletter, vip, reminders = clients[1:4]
    services.set_spending_limit(client=newsletter, kind="monthly", limit=6000, now=start)
    services.grant(
        organisation=org,
        credits=20000,
        source="purchase",
        now=start,
        unit_cost="0.0450",
        reference="Package 20000",
        actor=people[2],
    )
    services.assign(
        organisation=org,
        client=vip,
        credits=3000,
        now=start,
        reference="VIP budget",
        comment="Reserved for VIP campaigns",
        actor=people[2],
    )
    services.grant(
        organisation=org,
        credits=20000,
        source="purchase",
        now=start + relativedelta(months=3),
        unit_cost="0.0480",
        reference="Package 20000",
        actor=people[2],
    )
    for day in _working_days(start, now):
        hour = day.replace(hour=10)
        recipients = rng.randrange(30, 150)
        _spend(
            reminders,
            recipients,
            "sms",
            hour,
            rng.choice(people),
            country="IT",
            recipients=recipients,
            segments=1,
        )
        if day.weekday() == 0:
            try:
                campaign = services.hold(
                    client=newsletter,
                    credits=rng.randrange(300, 900),
                    action_code="sms",
                    params={"country": "IT", "segments": 2},
                    expires_at=hour + timedelta(days=3),
                    now=hour,
                    actor=people[2],
                )
            except CreditsError:
                continue
            if rng.random() < 0.8:
                services.capture(hold=campaign, now=hour + timedelta(days=1))
            else:
                services.release(hold=campaign, now=hour + timedelta(hours=5))
        if day.weekday() == 3 and rng.random() < 0.5:
            _spend(vip, rng.randrange(100, 300), "sms", hour, people[2], country="FR", segments=1)


def _crm(org: Organisation, clients: list[Client], start, now, rng, people) -> None:
    front_desk, field_sales = clients[1:3]
    cycle = start
    while cycle < now:
        services.grant(
            organisation=org,
            credits=500,
            source="plan_allowance",
            now=cycle,
            expires_at=cycle + relativedelta(months=1),
            reference=f"Growth plan {cycle:%B %Y}",
        )
        if cycle.month % 2 == 0:
            services.grant(
                organisation=org,
                credits=1000,
                source="purchase",
                now=cycle,
                unit_cost="0.0500",
                reference="Credit top-up 1000",
                actor=people[2],
            )
        cycle += relativedelta(months=1)
    for day in _working_days(start, now):
        hour = day.replace(hour=11)
        _spend(front_desk, 1 * rng.randrange(3, 12), "form", hour, rng.choice(people))
        if rng.random() < 0.4:
            _spend(field_sales, 5 * rng.randrange(1, 6), "sms", hour, rng.choice(people))
        if rng.random() < 0.2:
            _spend(clients[0], 10, "ai_summary", hour, people[2])


def _serious_game(org: Organisation, clients: list[Client], start, now, rng, people) -> None:
    acme, globex, initech = clients[1:4]
    month = start
    for index in range(HISTORY_MONTHS):
        services.grant(
            organisation=org,
            credits=600,
            source="purchase",
            now=month,
            unit_cost="1.8000",
            reference=f"Credits {month:%Y-%m}",
            actor=people[2],
        )
        for client, learners in ((acme, 40), (globex, 25), (initech, 20)):
            if index % 2 == 0 or client is acme:
                services.assign(
                    organisation=org,
                    client=client,
                    credits=learners * 6 // 2,
                    now=month,
                    reference=f"PO-{month:%Y%m}-{client.pk}",
                    comment=f"{learners // 2} learners",
                    actor=people[2],
                )
        month += relativedelta(months=1)
    for day in _working_days(start, now):
        hour = day.replace(hour=14)
        for client in (acme, globex, initech):
            if rng.random() < 0.3:
                _spend(
                    client,
                    6,
                    "enrolment",
                    hour,
                    rng.choice(people),
                    game="Cyber-security basics",
                    learner=f"learner-{rng.randrange(1000)}",
                )


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
