"""The one place that says how large a number or how long a text may enter the portal (X6).

Why bounds at all: a column holds a bigint, a smallint or N characters, Python's Decimal
context and datetime stop somewhere, and SQLite stores what it is given where PostgreSQL
refuses it. A number past these bounds is a typo or a probe; refusing it in the service,
before anything is written, with a message that says the bound, is what both databases then
agree on. Forms, the API's serializers and the models' validators read the same constants, so
a person sees a form error and software a 400 problem, never a 500.

No import from the apps' models or services here: models, forms and services all read it.
"""

from decimal import Decimal, InvalidOperation

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from credits.exceptions import InvalidAmount

# Credits one operation (grant, adjustment, assignment, limit, debit, hold, quote, a rate's
# price) may move: far above any real order (a thousand billion), far below what a sum of
# such figures can overflow (2**63), so balances never reach a bigint's end.
MAX_CREDITS = 10**12
# The longest expiry policy: a hundred years keeps every expiry date far inside the year 9999
# (120000 months made every later grant of the organisation fail).
MAX_MONTHS = 1200
# The longest lead time of an expiry reminder.
MAX_DAYS = 365
# A unit cost (credits.Lot.unit_cost: 12 digits, 4 decimals).
MAX_UNIT_COST = Decimal("99999999.9999")
# Texts, as their columns hold them.
REFERENCE_LENGTH = 200  # a lot's or an assignment's reference, an adjustment's reason
ENTRY_REFERENCE_LENGTH = 300  # a ledger entry's reference
DESCRIPTION_LENGTH = 300  # a consumption's or a hold's description
ACTION_CODE_LENGTH = 64  # a billable action's code, as consumptions and holds keep it
IDEMPOTENCY_KEY_LENGTH = 200


def check_credits(value: object, *, least: int = 1) -> int:
    """A whole number of credits from `least` (0 or 1) to MAX_CREDITS, or InvalidAmount
    saying so."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidAmount(_("Credits are whole numbers."))
    if value < least:
        raise InvalidAmount(_("The number of credits must be positive."))
    if value > MAX_CREDITS:
        raise too_many_credits()
    return value


def too_many_credits() -> InvalidAmount:
    return InvalidAmount(
        _("One operation moves at most %(max)s credits.")
        % {"max": number_format(MAX_CREDITS, force_grouping=True)}
    )


def check_whole(value: object, low: int, high: int, message: str) -> int:
    """A whole number from `low` to `high` (months, days...), or InvalidAmount(message)."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidAmount(message)
    return value


def check_text(value: object, length: int, what: str) -> str:
    """A text that fits its column: SQLite would keep a longer one, PostgreSQL refuse it."""
    if not isinstance(value, str):
        raise InvalidAmount(_("%(what)s must be text.") % {"what": what})
    if len(value) > length:
        raise InvalidAmount(
            _("%(what)s holds at most %(max)d characters (%(length)d given).")
            % {"what": what, "max": length, "length": len(value)}
        )
    return value


def check_unit_cost(value: object) -> Decimal | None:
    """What one credit of a lot cost: none, or an exact amount from 0 to MAX_UNIT_COST with
    at most 4 decimals (never a float, never NaN or infinite)."""
    if value is None:
        return None
    message = _("A unit cost is an amount from 0 to %(max)s with at most 4 decimals.") % {
        "max": number_format(MAX_UNIT_COST, 4, force_grouping=True)
    }
    if isinstance(value, (float, bool)):
        raise InvalidAmount(message)
    try:
        cost = Decimal(str(value)) if isinstance(value, (int, str)) else value
        if not isinstance(cost, Decimal) or not cost.is_finite():
            raise InvalidAmount(message)
        if not Decimal(0) <= cost <= MAX_UNIT_COST or cost != cost.quantize(Decimal("0.0001")):
            raise InvalidAmount(message)
    except (InvalidOperation, ValueError) as error:
        raise InvalidAmount(message) from error
    return cost
