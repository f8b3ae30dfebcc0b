"""The rate card and priced consumption: quote first (C5), then consume at the quoted price.

`consume` wraps `debit`: it prices the action (or honours an unexpired quote's price) and
records the action's parameters and pricing details on the consumption (C4, M4, S6).
"""

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from clients.models import Client, Organisation
from credits import selectors
from credits.exceptions import (
    InvalidAmount,
    PricingError,
    QuoteExpired,
    QuoteMismatch,
    QuoteUsed,
)
from credits.models import (
    ActionPrice,
    BillableAction,
    Consumption,
    Hold,
    Quote,
    RuleKind,
    SmsRate,
)
from credits.presets import RATE_CARDS, SMS_RATES
from credits.pricing import match_key, price
from credits.selectors import SMS_CSV_COLUMNS
from credits.services.spending import debit, hold

QUOTE_VALIDITY = timedelta(minutes=15)


@transaction.atomic
def install_rate_card(*, organisation: Organisation, preset: str) -> list[BillableAction]:
    """Start an organisation's rate card from its seed system's (editable afterwards in
    admin), its names in the organisation's language. Actions already on the card are left as
    they are."""
    with translation.override(organisation.language):
        return _install_rate_card(organisation, preset)


def _install_rate_card(organisation: Organisation, preset: str) -> list[BillableAction]:
    actions = []
    for spec in RATE_CARDS[preset]:
        action, created = BillableAction.objects.get_or_create(
            organisation=organisation,
            code=spec.code,
            defaults={
                "name": str(spec.name),
                "category": str(spec.category),
                "rule": spec.rule,
                "credits": spec.credits,
                "unit_param": spec.unit_param,
                "table_params": list(spec.table_params),
                "extra_params": list(spec.extra_params),
                "description": spec.description,
            },
        )
        if created:
            for match, credits in spec.prices:
                values = dict(match)
                ActionPrice.objects.create(
                    action=action, match=values, match_key=match_key(values), credits=credits
                )
        actions.append(action)
    if preset == "sms":
        for country, name, calling_code, credits in SMS_RATES:
            SmsRate.objects.get_or_create(
                organisation=organisation,
                country=country,
                defaults={
                    "name": str(name),
                    "calling_code": calling_code,
                    "credits_per_segment": credits,
                },
            )
    return actions


@transaction.atomic
def save_action(*, action: BillableAction) -> BillableAction:
    """Create or change a rate-card line (admin); the model's rules are checked first."""
    action.full_clean()
    action.save()
    return action


@transaction.atomic
def save_action_price(*, row: ActionPrice) -> ActionPrice:
    row.full_clean(exclude=["match_key"])
    row.match_key = match_key(row.match)
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def save_sms_rate(*, rate: SmsRate) -> SmsRate:
    rate.country = rate.country.strip().upper()
    rate.calling_code = rate.calling_code.strip().lstrip("+")
    rate.full_clean()
    rate.save()
    return rate


@transaction.atomic
def import_sms_rates(*, organisation: Organisation, csv_text: str) -> int:
    """Create or update the organisation's SMS rates from CSV (the columns of the export).
    Every row is checked first; one bad row refuses the whole file and changes nothing."""
    reader = csv.DictReader(io.StringIO(csv_text))
    if reader.fieldnames is None or set(SMS_CSV_COLUMNS) - set(reader.fieldnames):
        raise InvalidAmount(_("The CSV needs the columns: %s.") % ", ".join(SMS_CSV_COLUMNS))
    rates = []
    for line, row in enumerate(reader, start=2):
        try:
            credits = int(row["credits_per_segment"])
        except (TypeError, ValueError):
            credits = None
        existing = SmsRate.objects.filter(
            organisation=organisation, country=(row["country"] or "").strip().upper()
        ).first()
        rate = existing or SmsRate(organisation=organisation)
        rate.country = (row["country"] or "").strip().upper()
        rate.name = (row["name"] or "").strip()
        rate.calling_code = (row["calling_code"] or "").strip().lstrip("+")
        rate.credits_per_segment = credits
        try:
            rate.full_clean(validate_unique=False)
        except ValidationError as error:
            raise InvalidAmount(
                _("Line %(line)d: %(errors)s") % {"line": line, "errors": "; ".join(error.messages)}
            ) from error
        rates.append(rate)
    countries = [rate.country for rate in rates]
    if len(countries) != len(set(countries)):
        raise InvalidAmount(_("A country appears twice in the file."))
    for rate in rates:
        rate.save()
    return len(rates)


def _action(organisation_id: int, action: BillableAction | str) -> BillableAction:
    if isinstance(action, BillableAction):
        if action.organisation_id != organisation_id:
            raise PricingError(_("This action is not on the organisation's rate card."))
        return action
    found = BillableAction.objects.filter(organisation_id=organisation_id, code=action).first()
    if found is None:
        raise PricingError(_("Unknown action “%(code)s”.") % {"code": action})
    return found


def _local(moment: datetime, client: Client) -> datetime:
    return moment.astimezone(ZoneInfo(client.organisation.time_zone))


def _recorded_params(action: BillableAction, params: dict, details: dict) -> dict:
    """What the consumption keeps: the parameters and how they were priced; an SMS keeps its
    text and the recipients counted by country, not the list of numbers."""
    kept = {key: value for key, value in params.items() if key != "recipients"}
    return {**kept, **details} if action.rule == RuleKind.SMS else {**params, **details}


@transaction.atomic
def quote(
    *,
    client: Client,
    action: BillableAction | str,
    params: dict,
    now: datetime,
    actor: AbstractBaseUser | None = None,
) -> Quote:
    """The recap before a paid action (C5): cost, balance before and after, and whether it may
    happen (and why not). Stored, so that consuming it later charges exactly this price."""
    action = _action(client.organisation_id, action)
    priced = price(action, params)
    check = selectors.spending_check(client=client, credits=priced.credits, now=now)
    balance = selectors.pool_figures(client.organisation).balance
    return Quote.objects.create(
        organisation_id=client.organisation_id,
        client=client,
        action=action,
        params=params,
        details=priced.details,
        credits=priced.credits,
        balance_before=balance,
        balance_after=balance - priced.credits if check.allowed else balance,
        allowed=check.allowed,
        reason=check.reason,
        message=check.message,
        actor=actor,
        created_at=now,
        expires_at=now + QUOTE_VALIDITY,
    )


@transaction.atomic
def consume(
    *,
    client: Client,
    action: BillableAction | str,
    now: datetime,
    params: dict | None = None,
    actor: AbstractBaseUser | None = None,
    idempotency_key: str = "",
    quote: Quote | None = None,
) -> Consumption:
    """Price the action (or take an unexpired quote's price) and debit it through the ledger.
    A refusal (expired quote, credits short, limit reached) debits nothing."""
    action = _action(client.organisation_id, action)
    if quote is not None:
        params = quote.params if params is None else params
        if (quote.client_id, quote.action_id, quote.params) != (client.pk, action.pk, params):
            raise QuoteMismatch(_("This quote was made for another action or other parameters."))
        if quote.consumption_id is not None:
            replay = quote.consumption
            if idempotency_key and replay.entries.filter(idempotency_key=idempotency_key).exists():
                return replay
            raise QuoteUsed(_("This quote was already used."))
        if quote.expires_at <= now:
            raise QuoteExpired(
                _("This quote expired at %(time)s; ask for a new one.")
                % {"time": _local(quote.expires_at, client).strftime("%H:%M")}
            )
        credits, details = quote.credits, quote.details
    else:
        params = params or {}
        priced = price(action, params)
        credits, details = priced.credits, priced.details
    consumption = debit(
        client=client,
        credits=credits,
        action_code=action.code,
        description=action.name,
        params=_recorded_params(action, params, details),
        actor=actor,
        idempotency_key=idempotency_key,
        now=now,
    )
    if quote is not None:
        claimed = Quote.objects.filter(pk=quote.pk, consumption__isnull=True).update(
            consumption=consumption
        )
        if not claimed and Quote.objects.get(pk=quote.pk).consumption_id != consumption.pk:
            raise QuoteUsed(_("This quote was already used."))  # a concurrent consume won
    return consumption


@transaction.atomic
def hold_action(
    *,
    client: Client,
    action: BillableAction | str,
    params: dict,
    expires_at: datetime,
    now: datetime,
    actor: AbstractBaseUser | None = None,
    idempotency_key: str = "",
) -> Hold:
    """Reserve the price of an action that runs later (a scheduled SMS campaign, S2)."""
    action = _action(client.organisation_id, action)
    priced = price(action, params)
    return hold(
        client=client,
        credits=priced.credits,
        action_code=action.code,
        params=_recorded_params(action, params, priced.details),
        description=action.name,
        expires_at=expires_at,
        actor=actor,
        idempotency_key=idempotency_key,
        now=now,
    )
