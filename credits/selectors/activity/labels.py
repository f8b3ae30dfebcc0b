"""The activity's words: the kind filter's values, each kind of operation in words, and a
consumption's parameters on one line."""

from django.db.models import Q
from django.utils.translation import ngettext, pgettext_lazy

from credits.models import EntryKind, LotSource
from credits.selectors.ratecard import parameter_label


class ActivityKind:
    """The `kind` filter's values (other pages link with them; keep the names)."""

    CONSUMPTION = "consumption"
    PURCHASE = "purchase"
    ALLOWANCE = "allowance"
    PROMOTION = "promotion"
    ASSIGNMENT = "assignment"
    EXPIRY = "expiry"
    ADJUSTMENT = "adjustment"
    HOLD = "hold"

    choices = [
        (CONSUMPTION, pgettext_lazy("activity filter", "Consumptions")),
        (PURCHASE, pgettext_lazy("activity filter", "Purchases")),
        (ALLOWANCE, pgettext_lazy("activity filter", "Plan allowances")),
        (PROMOTION, pgettext_lazy("activity filter", "Promotions")),
        (ASSIGNMENT, pgettext_lazy("activity filter", "Assignments")),
        (EXPIRY, pgettext_lazy("activity filter", "Expiries")),
        (ADJUSTMENT, pgettext_lazy("activity filter", "Adjustments")),
        (HOLD, pgettext_lazy("activity filter", "Holds")),
    ]


# Each kind is an explicit list of entry kinds (plus the lot's source for grants), so that a
# partial index on the rare kinds can serve them later.
_GRANT = EntryKind.GRANT
KIND_FILTERS: dict[str, Q] = {
    ActivityKind.CONSUMPTION: Q(kind__in=[EntryKind.DEBIT, EntryKind.CAPTURE]),
    ActivityKind.PURCHASE: Q(kind__in=[_GRANT], lot__source=LotSource.PURCHASE)
    | Q(kind__in=[EntryKind.REVOCATION]),
    ActivityKind.ALLOWANCE: Q(kind__in=[_GRANT], lot__source=LotSource.PLAN_ALLOWANCE),
    ActivityKind.PROMOTION: Q(kind__in=[_GRANT], lot__source=LotSource.PROMOTION),
    ActivityKind.ASSIGNMENT: Q(kind__in=[EntryKind.ASSIGN, EntryKind.UNASSIGN]),
    ActivityKind.EXPIRY: Q(kind__in=[EntryKind.EXPIRY, EntryKind.EXTENSION]),
    ActivityKind.ADJUSTMENT: Q(kind__in=[EntryKind.ADJUSTMENT])
    | Q(kind__in=[_GRANT], lot__source=LotSource.ADJUSTMENT),
    ActivityKind.HOLD: Q(kind__in=[EntryKind.HOLD, EntryKind.RELEASE, EntryKind.HOLD_EXPIRY]),
}

# Entry kinds whose operation may write several entries, and what ties them together: the
# consumption (a debit or capture paid by several lots), or the instant (an expiry run over
# several lots and clients, the lots a purchase extended, a negative adjustment over lots).
CONSUMPTION_KINDS = (EntryKind.DEBIT, EntryKind.CAPTURE)
INSTANT_KINDS = (EntryKind.EXPIRY, EntryKind.EXTENSION, EntryKind.ADJUSTMENT)

KIND_LABELS = {
    EntryKind.DEBIT: pgettext_lazy("activity kind", "Consumption"),
    EntryKind.CAPTURE: pgettext_lazy("activity kind", "Consumption"),
    EntryKind.HOLD: pgettext_lazy("activity kind", "Hold placed"),
    EntryKind.RELEASE: pgettext_lazy("activity kind", "Hold released"),
    EntryKind.HOLD_EXPIRY: pgettext_lazy("activity kind", "Hold expired"),
    EntryKind.ASSIGN: pgettext_lazy("activity kind", "Assigned"),
    EntryKind.UNASSIGN: pgettext_lazy("activity kind", "Taken back"),
    EntryKind.EXPIRY: pgettext_lazy("activity kind", "Expired"),
    EntryKind.EXTENSION: pgettext_lazy("activity kind", "Expiry extended"),
    EntryKind.LIMIT_RESET: pgettext_lazy("activity kind", "Spending limit reset"),
    EntryKind.ADJUSTMENT: pgettext_lazy("activity kind", "Adjustment"),
    EntryKind.REVOCATION: pgettext_lazy("activity kind", "Purchase cancelled"),
}
GRANT_LABELS = {
    LotSource.PURCHASE: pgettext_lazy("activity kind", "Purchase"),
    LotSource.PLAN_ALLOWANCE: pgettext_lazy("activity kind", "Plan allowance"),
    LotSource.PROMOTION: pgettext_lazy("activity kind", "Promotion"),
    LotSource.ADJUSTMENT: pgettext_lazy("activity kind", "Adjustment lot"),
}
SOURCE_LABELS = dict(LotSource.choices)

# What pricing adds to a consumption's parameters (credits.pricing): shown as how the price
# was computed, not as parameters the person chose.
PRICING_KEYS = (
    "units", "unit_credits", "segments", "encoding", "characters", "recipients", "rates"
)  # fmt: skip
PRICING_LABELS = {
    "units": pgettext_lazy("pricing detail", "Units"),
    "unit_credits": pgettext_lazy("pricing detail", "Credits per unit"),
    "segments": pgettext_lazy("pricing detail", "Parts per message"),
    "encoding": pgettext_lazy("pricing detail", "Encoding"),
    "characters": pgettext_lazy("pricing detail", "Characters"),
    "recipients": pgettext_lazy("pricing detail", "Recipients"),
    "countries": pgettext_lazy("pricing detail", "Recipients by country"),
    "rates": pgettext_lazy("pricing detail", "Credits per part, by country"),
}
PARAMS_SHOWN = 120  # characters of the compact parameters in a row
VALUE_SHOWN = 40  # characters of one parameter's value in a row


def kind_label(kind: str, source: str = "") -> object:
    """A row's kind in words: a grant by its lot's source, a free consumption as any other."""
    if kind == "free":
        return KIND_LABELS[EntryKind.DEBIT]
    if kind == EntryKind.GRANT:
        return GRANT_LABELS.get(source, EntryKind.GRANT.label)
    return KIND_LABELS.get(kind, kind)


def _shorten(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def value_text(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key} {value_text(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(value_text(item) for item in value)
    return str(value)


def compact_params(params: dict) -> str:
    """A consumption's parameters on one short line: `learners: 20, game: …`. An SMS shows
    its parts × recipients by country, not its text; pricing details are left to its page."""
    if not isinstance(params, dict) or not params:
        return ""
    if isinstance(params.get("countries"), dict) and "segments" in params:
        segments = params["segments"]
        return ngettext(
            "%(parts)s part × %(countries)s",
            "%(parts)s parts × %(countries)s",
            segments if isinstance(segments, int) else 2,
        ) % {"parts": segments, "countries": value_text(params["countries"])}
    shown = [
        f"{parameter_label(key)}: {_shorten(value_text(value), VALUE_SHOWN)}"
        for key, value in params.items()
        if key not in PRICING_KEYS
    ]
    return _shorten(", ".join(shown), PARAMS_SHOWN)
