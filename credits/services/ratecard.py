"""The rate card and priced consumption: quote first (C5), then consume at the quoted price.

`consume` wraps `debit`: it prices the action (or honours an unexpired quote's price) and
records the action's parameters and pricing details on the consumption (C4, M4, S6).

`consume` is the call pages and the REST API make, so it is built like `debit`: no transaction
of its own, the action and its price from the per-process rate-card cache (credits/ratecards.py,
pure Python), then one call of the debit, which claims the quote and checks that the card it
priced with is still current, under the pool lock (one round trip on PostgreSQL).
"""

import copy
import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from clients.models import Client, Organisation
from credits import bounds, ratecards, selectors
from credits.exceptions import (
    InvalidAmount,
    InvalidRateCard,
    PricingError,
    QuoteExpired,
    QuoteMismatch,
    QuoteUsed,
)
from credits.models import (
    ActionPrice,
    BillableAction,
    Consumption,
    CreditPool,
    Hold,
    Quote,
    RuleKind,
    SmsRate,
)
from credits.presets import RATE_CARDS, SMS_RATES
from credits.pricing import Price, match_key
from credits.ratecards import RateCard, Repriced
from credits.selectors import SMS_CSV_COLUMNS
from credits.services.spending import debit, hold

QUOTE_VALIDITY = timedelta(minutes=15)
# Calls priced with a card that turned out stale (each reads the card again) before the last
# one runs under the pool lock, where no change of the card can commit.
REPRICE_ATTEMPTS = 2


@transaction.atomic
def install_rate_card(*, organisation: Organisation, preset: str) -> list[BillableAction]:
    """Start an organisation's rate card from its seed system's (editable afterwards in
    admin), its names in the organisation's language. Actions already on the card are left as
    they are."""
    ratecards.forget(organisation.pk)  # not needed (the version says it), but sooner
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


def _clean(row: models.Model, **options: object) -> None:
    """The model's rules (bounds included): refused as a domain error on the fields."""
    try:
        row.full_clean(**options)
    except ValidationError as invalid:
        raise InvalidRateCard(invalid) from invalid


@transaction.atomic
def save_action(*, action: BillableAction) -> BillableAction:
    """Create or change a rate-card line (admin); the model's rules are checked first."""
    _clean(action)
    action.save()
    ratecards.forget(action.organisation_id)  # not needed (the version says it), but sooner
    return action


@transaction.atomic
def save_action_price(*, row: ActionPrice) -> ActionPrice:
    _clean(row, exclude=["match_key"])
    row.match_key = match_key(row.match)
    _clean(row)
    row.save()
    ratecards.forget(row.action.organisation_id)
    return row


@transaction.atomic
def save_sms_rate(*, rate: SmsRate) -> SmsRate:
    rate.country = rate.country.strip().upper()
    rate.calling_code = rate.calling_code.strip().lstrip("+")
    _clean(rate)
    rate.save()
    ratecards.forget(rate.organisation_id)
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
    ratecards.forget(organisation.pk)
    return len(rates)


def _within_bounds(priced: Price) -> Price:
    """An action priced past what one operation may spend (units of 2**62, or of 5,000
    digits) is refused as pricing, before a quote, hold or consumption is written."""
    if priced.credits > bounds.MAX_CREDITS:
        raise PricingError(
            _(
                "This would cost more than %(max)s credits, more than one operation may spend: "
                "ask for fewer units."
            )
            % {"max": number_format(bounds.MAX_CREDITS, force_grouping=True)}
        )
    return priced


def _local(moment: datetime, client: Client) -> datetime:
    return moment.astimezone(ZoneInfo(client.organisation.time_zone))


def _recorded_params(action: BillableAction, params: dict, details: dict) -> dict:
    """What the consumption keeps: the parameters and how they were priced; an SMS keeps its
    text and the recipients counted by country, not the list of numbers."""
    if action.rule == RuleKind.SMS:
        return {**{key: value for key, value in params.items() if key != "recipients"}, **details}
    return {**params, **details}


def _current_card(organisation_id: int) -> tuple[RateCard, int]:
    """Inside a transaction: the card, current as of the pool's row read now, and the
    pool's balance from the same row."""
    row = CreditPool.objects.filter(pk=organisation_id).values_list("balance", "rate_card_version")
    balance, version = row.first() or (0, -1)
    card = ratecards.card(organisation_id)
    if card.version != version:
        card = ratecards.reload(organisation_id)
    return card, balance


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
    card, balance = _current_card(client.organisation_id)
    found = card.action(action)
    priced = _within_bounds(card.price(found, params))
    check = selectors.spending_check(client=client, credits=priced.credits, now=now)
    return Quote.objects.create(
        organisation_id=client.organisation_id,
        client=client,
        action=copy.copy(found),  # the caller's own: the cached one is shared
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
    A refusal (expired quote, credits short, limit reached) debits nothing.

    No transaction of its own: the debit claims the quote and checks the rate card's version
    in its one statement. A card changed since it was cached is read again and the action
    priced again; the last attempt holds the pool lock, so it cannot be outrun."""
    for _attempt in range(REPRICE_ATTEMPTS):
        try:
            card = ratecards.card(client.organisation_id)
            return _consume(card, client, action, now, params, actor, idempotency_key, quote)
        except Repriced:
            continue
    with transaction.atomic():
        card = _locked_card(client.organisation_id)
        return _consume(card, client, action, now, params, actor, idempotency_key, quote)


def _locked_card(organisation_id: int) -> RateCard:
    """Inside a transaction: the card read under the pool lock, which every change of the
    card needs, so it stays current until the transaction ends."""
    ratecards.lock_pool(organisation_id)
    return ratecards.reload(organisation_id)


def _consume(
    card: RateCard,
    client: Client,
    action: BillableAction | str,
    now: datetime,
    params: dict | None,
    actor: AbstractBaseUser | None,
    idempotency_key: str,
    quote: Quote | None,
) -> Consumption:
    if quote is None:
        params = {} if params is None else params
        card, found, priced = ratecards.priced(card, action, params)
        credits, details = _within_bounds(priced).credits, priced.details
    else:
        card, found = ratecards.find(card, action)
        params = quote.params if params is None else params
        credits, details = _quoted(quote, client, found, params, now, idempotency_key)
    try:
        consumption = debit(
            client=client,
            credits=credits,
            action_code=found.code,
            description=found.name,
            params=_recorded_params(found, params, details),
            actor=actor,
            idempotency_key=idempotency_key,
            now=now,
            quote_id=None if quote is None else quote.pk,
            rate_card_version=card.version,
        )
    except Repriced:
        ratecards.forget(client.organisation_id, card.version)
        raise
    if quote is not None:
        quote.consumption = consumption  # as the row now says
    return consumption


def _quoted(
    quote: Quote,
    client: Client,
    action: BillableAction,
    params: dict,
    now: datetime,
    idempotency_key: str,
) -> tuple[int, dict]:
    """The quote's price, once it is checked to be this request's and still good. Whether it
    was claimed meanwhile is the debit's to say, under the lock; a quote known claimed is
    refused here, unless a key may make this a retry of the call that claimed it (X3)."""
    if (quote.client_id, quote.action_id, quote.params) != (client.pk, action.pk, params):
        raise QuoteMismatch(_("This quote was made for another action or other parameters."))
    if quote.consumption_id is not None:
        if not idempotency_key:
            raise QuoteUsed(_("This quote was already used."))
    elif quote.expires_at <= now:
        raise QuoteExpired(
            _("This quote expired at %(time)s; ask for a new one.")
            % {"time": _local(quote.expires_at, client).strftime("%H:%M")}
        )
    return quote.credits, quote.details


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
    """Reserve the price of an action that runs later (a scheduled SMS campaign, S2), priced
    from the cached rate card; the hold checks, under its lock, that the card is current."""
    for _attempt in range(REPRICE_ATTEMPTS):
        try:
            card = ratecards.card(client.organisation_id)
            return _hold_action(
                card, client, action, params, expires_at, now, actor, idempotency_key
            )
        except Repriced:
            continue
    with transaction.atomic():
        card = _locked_card(client.organisation_id)
        return _hold_action(card, client, action, params, expires_at, now, actor, idempotency_key)


def _hold_action(
    card: RateCard,
    client: Client,
    action: BillableAction | str,
    params: dict,
    expires_at: datetime,
    now: datetime,
    actor: AbstractBaseUser | None,
    idempotency_key: str,
) -> Hold:
    card, found, priced = ratecards.priced(card, action, params)
    _within_bounds(priced)
    try:
        return hold(
            client=client,
            credits=priced.credits,
            action_code=found.code,
            params=_recorded_params(found, params, priced.details),
            description=found.name,
            expires_at=expires_at,
            actor=actor,
            idempotency_key=idempotency_key,
            now=now,
            rate_card_version=card.version,
        )
    except Repriced:
        ratecards.forget(client.organisation_id, card.version)
        raise
