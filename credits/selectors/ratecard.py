"""Reads of the rate card for the pages: each action with its price rule in words, its table
or its SMS rates, searched; and the recap of a quote, computed the way it was charged (C1, C2,
C5, D2, M1, S1).

The words are built here rather than in templates so that the rate card, the calculator, the
recap and their tests say exactly the same thing. Numbers are formatted for the active
language; every phrase is a whole translatable pattern (translators can reorder it).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db.models import Prefetch, Q
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, ngettext_lazy, pgettext_lazy

from clients.models import Membership, Organisation
from clients.selectors import visible_clients
from credits.exceptions import (
    AssignmentExhausted,
    CreditsError,
    InsufficientCredits,
    LimitExceeded,
    QuoteExpired,
    QuoteUsed,
)
from credits.models import ActionPrice, BillableAction, Quote, RuleKind, SmsRate
from credits.selectors import spending_check


@dataclass(frozen=True)
class Unit:
    """How a unit parameter reads: a label for its field, the noun after "per", a count."""

    label: Promise | str  # "Learners"
    one: Promise | str  # "learner", in "6 credits per learner"
    count: Promise | str  # "%(num)s learner" / "%(num)s learners", plural chosen by `count`


UNITS: dict[str, Unit] = {
    "rows": Unit(
        pgettext_lazy("unit", "Rows"),
        pgettext_lazy("unit", "row"),
        ngettext_lazy("%(num)s row", "%(num)s rows", "count"),
    ),
    "records": Unit(
        pgettext_lazy("unit", "Records"),
        pgettext_lazy("unit", "record"),
        ngettext_lazy("%(num)s record", "%(num)s records", "count"),
    ),
    "recipients": Unit(
        pgettext_lazy("unit", "Recipients"),
        pgettext_lazy("unit", "recipient"),
        ngettext_lazy("%(num)s recipient", "%(num)s recipients", "count"),
    ),
    "messages": Unit(
        pgettext_lazy("unit", "Messages"),
        pgettext_lazy("unit", "message"),
        ngettext_lazy("%(num)s message", "%(num)s messages", "count"),
    ),
    "learners": Unit(
        pgettext_lazy("unit", "Learners"),
        pgettext_lazy("unit", "learner"),
        ngettext_lazy("%(num)s learner", "%(num)s learners", "count"),
    ),
    "pages": Unit(
        pgettext_lazy("unit", "Pages"),
        pgettext_lazy("unit", "page"),
        ngettext_lazy("%(num)s page", "%(num)s pages", "count"),
    ),
}

# Parameters of table rules and free-text parameters whose names we know.
PARAMETERS: dict[str, Promise] = {
    "text": pgettext_lazy("pricing parameter", "text"),
    "service": pgettext_lazy("pricing parameter", "service"),
    "complexity": pgettext_lazy("pricing parameter", "complexity"),
    "game": pgettext_lazy("pricing parameter", "game"),
}


def _plain(name: str) -> str:
    return name.replace("_", " ").replace("-", " ")


def unit_of(name: str) -> Unit:
    """The known unit's words, or its raw name (an admin may invent units)."""
    if name in UNITS:
        return UNITS[name]
    plain = _plain(name)
    return Unit(capfirst(plain), plain, gettext_lazy("%(num)s %(unit)s"))


def parameter_label(name: str) -> str:
    """A parameter's name in words: a known parameter or unit ("learners" → "apprenants"),
    else its raw name (an admin may invent parameters)."""
    if name in PARAMETERS:
        return str(PARAMETERS[name])
    if name in UNITS:
        return str(UNITS[name].label).lower()
    return _plain(name)


def number(value: int) -> str:
    return number_format(value, force_grouping=True)


def credits_words(credits: int) -> str:
    """ "1 credit", "1,200 credits"."""
    return ngettext("%(num)s credit", "%(num)s credits", credits) % {"num": number(credits)}


def units_words(name: str, units: int) -> str:
    """ "20 learners", "1 page"."""
    # The lazy phrase picks its plural from "count" when formatted (not through str()).
    return unit_of(name).count % {"count": units, "num": number(units), "unit": _plain(name)}


def rule_words(action: BillableAction) -> str:
    """The price rule in a few words: "Free", "10 credits", "2 credits per record"."""
    if action.rule == RuleKind.FREE:
        return _("Free")
    if action.rule == RuleKind.FLAT:
        return credits_words(action.credits)
    if action.rule == RuleKind.PER_UNIT:
        return _("%(credits)s per %(unit)s") % {
            "credits": credits_words(action.credits),
            "unit": unit_of(action.unit_param).one,
        }
    if action.rule == RuleKind.TABLE:
        names = " × ".join(parameter_label(name) for name in action.table_params)
        if action.unit_param:
            return _("By %(parameters)s, per %(unit)s") % {
                "parameters": names,
                "unit": unit_of(action.unit_param).one,
            }
        return _("By %(parameters)s") % {"parameters": names}
    return _("Credits per SMS part, by destination country")


@dataclass(frozen=True)
class RateTable:
    header: list[str]
    rows: list[tuple[list[str], int]]  # the parameters' values, the credits


@dataclass(frozen=True)
class ActionCard:
    action: BillableAction
    words: str
    table: RateTable | None = None
    sms_rates: list[SmsRate] | None = None

    @property
    def free(self) -> bool:
        return self.action.rule == RuleKind.FREE


@dataclass(frozen=True)
class Category:
    name: str
    actions: list[ActionCard] = field(default_factory=list)


def _table(action: BillableAction) -> RateTable:
    header = [capfirst(parameter_label(name)) for name in action.table_params]
    if action.unit_param:
        header.append(_("Credits per %(unit)s") % {"unit": unit_of(action.unit_param).one})
    else:
        header.append(_("Credits"))
    rows = sorted(
        (
            [str(price.match.get(name, "")) for name in action.table_params],
            price.credits,
        )
        for price in action.prices.all()  # prefetched
    )
    return RateTable(header, rows)


def _card(action: BillableAction, sms_rates: list[SmsRate]) -> ActionCard:
    if action.rule == RuleKind.TABLE:
        return ActionCard(action, rule_words(action), table=_table(action))
    if action.rule == RuleKind.SMS:
        return ActionCard(action, rule_words(action), sms_rates=sms_rates)
    return ActionCard(action, rule_words(action))


def _actions(organisation: Organisation, *, paid_only: bool):
    actions = BillableAction.objects.filter(organisation=organisation, is_active=True)
    if paid_only:
        actions = actions.exclude(rule=RuleKind.FREE)
    prices = Prefetch("prices", queryset=ActionPrice.objects.order_by("match_key"))
    return actions.prefetch_related(prices).order_by("category", "name")


def _matching_rates(organisation: Organisation, query: str) -> list[SmsRate]:
    """Every rate, or those whose country matches: a country code or calling code said
    exactly ("it", "+39") wins over names that merely contain it (Italy, not Switzerland)."""
    rates = SmsRate.objects.filter(organisation=organisation).order_by("name")
    if not query:
        return list(rates)
    digits = query.removeprefix("+").removeprefix("00")
    matches = Q(name__icontains=query) | Q(country__iexact=query)
    if digits.isdigit():
        matches |= Q(calling_code=digits)
    found = list(rates.filter(matches))
    exact = [rate for rate in found if rate.country == query.upper() or rate.calling_code == digits]
    return exact or found


def rate_card(
    organisation: Organisation, *, query: str = "", paid_only: bool = False
) -> list[Category]:
    """The active actions by category (C1, M1). `query` matches an action's name, code,
    category or description, and for SMS a country's name, code or calling code, whose rates
    are then the only ones shown. Three queries at most, whatever the card's size."""
    query = query.strip()
    actions = _actions(organisation, paid_only=paid_only)
    rates: list[SmsRate] | None = None
    if query:
        rates = _matching_rates(organisation, query) or None
        own_words = (
            Q(name__icontains=query)
            | Q(code__icontains=query)
            | Q(category__icontains=query)
            | Q(description__icontains=query)
        )
        actions = actions.filter(own_words | Q(rule=RuleKind.SMS) if rates else own_words)
    actions = list(actions)
    if rates is None and any(action.rule == RuleKind.SMS for action in actions):
        rates = _matching_rates(organisation, "")
    categories: dict[str, Category] = {}
    for action in actions:
        name = action.category or _("Other")
        categories.setdefault(name, Category(name)).actions.append(_card(action, rates or []))
    return list(categories.values())


def action_card(
    organisation: Organisation, code: str, *, paid_only: bool = False
) -> ActionCard | None:
    """One active action of the organisation's card, or None (the page answers 404)."""
    action = _actions(organisation, paid_only=paid_only).filter(code=code).first()
    if action is None:
        return None
    rates = _matching_rates(organisation, "") if action.rule == RuleKind.SMS else []
    return _card(action, rates)


def quote_for(membership: Membership, quote_id: int) -> Quote | None:
    """A quote of one of the clients this person may see (X5): another organisation's, or for
    a tied member another client's, is None and the page answers 404."""
    return (
        Quote.objects.filter(
            organisation_id=membership.organisation_id,
            client__in=visible_clients(membership),
            pk=quote_id,
        )
        .select_related("client__organisation", "action", "consumption")
        .first()
    )


@dataclass(frozen=True)
class Refusal:
    """Why a quote may not be spent, said plainly with the figure."""

    reason: str  # insufficient_credits, assignment_exhausted, limit_reached, expired, used, …
    headline: str  # "Not enough credits: 10 short."
    detail: str = ""  # the service's own sentence, with every figure


def _headline(reason: str, shortfall: int) -> str:
    if reason == "insufficient_credits":
        return _("Not enough credits: %(short)s short.") % {"short": number(shortfall)}
    if reason == "assignment_exhausted":
        return _("Not enough credits assigned: %(short)s short.") % {"short": number(shortfall)}
    if reason == "limit_reached":
        return _("Over the spending limit: %(short)s short.") % {"short": number(shortfall)}
    if reason == "inactive":
        return _("This client is inactive and cannot spend.")
    return _("This may not happen.")


def refusal_from_error(error: CreditsError) -> Refusal:
    """What a refusal at confirmation time says (nothing moved when it was raised)."""
    if isinstance(error, InsufficientCredits):
        return Refusal(
            "insufficient_credits", _headline("insufficient_credits", error.shortfall), str(error)
        )
    if isinstance(error, AssignmentExhausted):
        return Refusal(
            "assignment_exhausted", _headline("assignment_exhausted", error.shortfall), str(error)
        )
    if isinstance(error, LimitExceeded):
        short = error.needed - error.left
        return Refusal("limit_reached", _headline("limit_reached", short), str(error))
    if isinstance(error, QuoteExpired):
        return Refusal("expired", _("This quote has expired; nothing was spent."), str(error))
    if isinstance(error, QuoteUsed):
        return Refusal("used", _("This quote was already used."))
    return Refusal("refused", _("This may not happen."), str(error))


@dataclass(frozen=True)
class Recap:
    quote: Quote
    lines: list[str]  # how the cost was computed
    params: list[tuple[str, str]]  # the parameters, as a person reads them
    refusal: Refusal | None
    expired: bool
    used: bool

    @property
    def can_confirm(self) -> bool:
        return self.refusal is None

    @property
    def expires_iso(self) -> str:
        """For `<time data-countdown>`: UTC, in the one form every browser parses."""
        return self.quote.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sms_lines(quote: Quote) -> list[str]:
    details = quote.details
    parts = details.get("segments", 0)
    names = dict(
        SmsRate.objects.filter(organisation_id=quote.organisation_id).values_list("country", "name")
    )
    rates = details.get("rates")
    if rates is None:  # quoted before the rates were kept with the details
        rates = dict(
            SmsRate.objects.filter(organisation_id=quote.organisation_id).values_list(
                "country", "credits_per_segment"
            )
        )
    characters = details.get("characters", 0)
    lines = [
        ngettext(
            "%(encoding)s, %(num)s character: %(parts)s.",
            "%(encoding)s, %(num)s characters: %(parts)s.",
            characters,
        )
        % {
            "encoding": details.get("encoding", ""),
            "num": number(characters),
            "parts": ngettext("%(num)s part", "%(num)s parts", parts) % {"num": number(parts)},
        }
    ]
    for country, count in details.get("countries", {}).items():
        rate = rates.get(country, 0)
        lines.append(
            _("%(country)s: %(recipients)s × %(parts)s × %(rate)s = %(credits)s")
            % {
                "country": f"{names.get(country, country)} ({country})",
                "recipients": units_words("recipients", count),
                "parts": ngettext("%(num)s part", "%(num)s parts", parts) % {"num": number(parts)},
                "rate": ngettext("%(num)s credit per part", "%(num)s credits per part", rate)
                % {"num": number(rate)},
                "credits": credits_words(count * parts * rate),
            }
        )
    return lines


def computation(quote: Quote) -> list[str]:
    """How the quote's cost was computed, from what was recorded when it was priced."""
    action, details = quote.action, quote.details
    if action.rule == RuleKind.FREE:
        return [_("Free: no credits are spent.")]
    if action.rule == RuleKind.FLAT:
        return [_("Flat price: %(credits)s") % {"credits": credits_words(quote.credits)}]
    if action.rule == RuleKind.SMS:
        return _sms_lines(quote)
    units = details.get("units", 1)
    unit_credits = details.get("unit_credits", quote.credits)
    if action.rule == RuleKind.PER_UNIT:
        return [
            _("%(units)s × %(unit_credits)s = %(credits)s")
            % {
                "units": units_words(action.unit_param, units),
                "unit_credits": credits_words(unit_credits),
                "credits": credits_words(quote.credits),
            }
        ]
    values = ", ".join(str(details.get(name, "")) for name in action.table_params)
    if not action.unit_param:
        return [
            _("%(values)s: %(credits)s")
            % {"values": values, "credits": credits_words(quote.credits)}
        ]
    return [
        _("%(values)s: %(unit_credits)s × %(units)s = %(credits)s")
        % {
            "values": values,
            "unit_credits": credits_words(unit_credits),
            "units": units_words(action.unit_param, units),
            "credits": credits_words(quote.credits),
        }
    ]


def shown_params(quote: Quote) -> list[tuple[str, str]]:
    """The parameters a person gave, labelled; an SMS shows its text and how many numbers."""
    action, params = quote.action, quote.params
    shown: list[tuple[str, str]] = []
    if action.rule == RuleKind.SMS:
        shown.append((_("Text"), str(params.get("text", ""))))
        shown.append((_("Recipients"), number(len(params.get("recipients", [])))))
    for name in action.table_params:
        shown.append((capfirst(parameter_label(name)), str(params.get(name, ""))))
    if action.unit_param and action.rule in (RuleKind.PER_UNIT, RuleKind.TABLE):
        shown.append(
            (str(unit_of(action.unit_param).label), number(params.get(action.unit_param, 0)))
        )
    for name in action.extra_params:
        shown.append((capfirst(parameter_label(name)), str(params.get(name, ""))))
    return shown


def recap_of(quote: Quote, *, now: datetime) -> Recap:
    """The recap before confirming (C5): the computation, and whether the quote may still be
    spent now (its figures are read fresh, so "10 short" is true at this moment)."""
    used = quote.consumption_id is not None
    expired = not used and quote.expires_at <= now
    refusal = None
    if used:
        refusal = Refusal("used", _("This quote was already used."))
    elif expired:
        refusal = Refusal("expired", _("This quote has expired; nothing was spent."))
    else:
        check = spending_check(client=quote.client, credits=quote.credits, now=now)
        if not check.allowed:
            refusal = Refusal(check.reason, _headline(check.reason, check.shortfall), check.message)
    return Recap(quote, computation(quote), shown_params(quote), refusal, expired, used)
