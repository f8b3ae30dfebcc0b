"""Pricing rules: what one action costs, from the organisation's rate card (C2, D2, S1, G2).

Pure reads: pricing never changes a figure, so quotes and consumptions share it. Given the rows
a rule needs (a table's prices, the SMS rates), as the per-process rate-card cache holds them
(credits/ratecards.py), pricing is pure Python; without them it reads them itself.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from credits import sms
from credits.exceptions import PricingError
from credits.models import ActionPrice, BillableAction, RuleKind, SmsRate


@dataclass(frozen=True)
class Price:
    credits: int
    details: dict = field(default_factory=dict)


def match_key(values: dict[str, object]) -> str:
    """A table row's parameter values in one canonical, comparable string."""
    return "|".join(f"{name}={values[name]}" for name in sorted(values))


def _whole_number(params: dict, name: str) -> int:
    value = params.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise PricingError(
            _("The parameter “%(name)s” must be a whole number of at least 1.") % {"name": name}
        )
    return value


def table_prices(action: BillableAction) -> dict[str, int]:
    """A table rule's prices: credits by match key."""
    return dict(ActionPrice.objects.filter(action=action).values_list("match_key", "credits"))


def _table_price(action: BillableAction, params: dict, prices: dict[str, int] | None) -> Price:
    missing = [name for name in action.table_params if name not in params]
    if missing:
        raise PricingError(_("Missing parameters: %s.") % ", ".join(missing))
    wanted = {name: params[name] for name in action.table_params}
    key = match_key(wanted)
    if prices is None:
        row = ActionPrice.objects.filter(action=action, match_key=key).first()
        unit_credits = None if row is None else row.credits
    else:
        unit_credits = prices.get(key)
    if unit_credits is None:
        raise PricingError(
            _("No price for %(values)s in “%(action)s”.")
            % {"values": key.replace("|", ", "), "action": action.name}
        )
    units = _whole_number(params, action.unit_param) if action.unit_param else 1
    return Price(unit_credits * units, {**wanted, "unit_credits": unit_credits, "units": units})


def _country_of(recipient: str, by_calling_code: dict[str, SmsRate]) -> str:
    """A recipient is a country code (FR) or an international number (+33…, 0033…)."""
    text = str(recipient).strip().replace(" ", "")
    if len(text) == 2 and text.isalpha():
        return text.upper()
    digits = text[1:] if text.startswith("+") else text[2:] if text.startswith("00") else ""
    if not digits.isdigit():
        raise PricingError(
            _("“%(recipient)s” is neither a country code nor an international number.")
            % {"recipient": recipient}
        )
    for length in (4, 3, 2, 1):
        rate = by_calling_code.get(digits[:length])
        if rate is not None:
            return rate.country
    raise PricingError(_("No SMS rate for the number “%(recipient)s”.") % {"recipient": recipient})


def sms_rates(organisation_id: int) -> dict[str, SmsRate]:
    """The organisation's SMS rates by country."""
    return {rate.country: rate for rate in SmsRate.objects.filter(organisation_id=organisation_id)}


def sms_price(
    organisation_id: int, text: str, recipients: list, rates: dict[str, SmsRate] | None = None
) -> Price:
    """Each recipient costs the message's parts times its country's rate (S1)."""
    if not isinstance(text, str) or not text:
        raise PricingError(_("The message text is empty."))
    if not isinstance(recipients, list) or not recipients:
        raise PricingError(_("The message has no recipients."))
    if rates is None:
        rates = sms_rates(organisation_id)
    by_calling_code = {rate.calling_code: rate for rate in rates.values()}
    countries = Counter(_country_of(recipient, by_calling_code) for recipient in recipients)
    unknown = sorted(set(countries) - set(rates))
    if unknown:
        raise PricingError(_("No SMS rate for: %s.") % ", ".join(unknown))
    length = sms.measure(text)
    credits = sum(
        length.segments * rates[country].credits_per_segment * count
        for country, count in countries.items()
    )
    return Price(
        credits,
        {
            "encoding": length.encoding,
            "characters": len(text),
            "segments": length.segments,
            "recipients": len(recipients),
            "countries": dict(sorted(countries.items())),
            # The rate each country was priced at, so a recap or a consumption read later
            # still shows the computation that was charged, whatever the rates became.
            "rates": {country: rates[country].credits_per_segment for country in sorted(countries)},
        },
    )


def price(
    action: BillableAction,
    params: dict,
    *,
    prices: dict[str, int] | None = None,
    rates: dict[str, SmsRate] | None = None,
) -> Price:
    """The cost of one action with these parameters, or a PricingError saying what is wrong.
    `prices` (a table rule's, by match key) and `rates` (SMS rates by country) are the rows
    the rule needs, read here when not given."""
    if not action.is_active:
        raise PricingError(_("“%(action)s” is not available.") % {"action": action.name})
    if not isinstance(params, dict):
        raise PricingError(_("Parameters must be an object of names and values."))
    if action.rule == RuleKind.FREE:
        return Price(0)
    if action.rule == RuleKind.FLAT:
        return Price(action.credits)
    if action.rule == RuleKind.PER_UNIT:
        units = _whole_number(params, action.unit_param)
        return Price(action.credits * units, {"unit_credits": action.credits, "units": units})
    if action.rule == RuleKind.TABLE:
        return _table_price(action, params, prices)
    return sms_price(action.organisation_id, params.get("text"), params.get("recipients"), rates)


def messages_for_credits(organisation_id: int, credits: int) -> dict[str, int]:
    """How many one-part SMS `credits` buy in each country of the rate card (S3)."""
    rates = SmsRate.objects.filter(organisation_id=organisation_id).order_by("country")
    return {rate.country: credits // rate.credits_per_segment for rate in rates}
