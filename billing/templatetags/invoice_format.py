"""Money, quantities and rates written the way the invoice's reader writes them (K3).

An invoice is a legal document read in the buyer's language: a French buyer expects
`1 800,00 €` and `0,10 €`, an English one `€1,800.00`. Django's `floatformat` and
`intcomma` go through floats or ignore currencies, and Babel is not a dependency, so this
small formatter works on `Decimal` only (money is never a float) and knows the two
languages the portal speaks and the currencies an organisation may use. The filters read
the active language, so rendering under `translation.override(invoice.language)` is enough.
"""

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils import translation

register = template.Library()

NARROW_NBSP = "\u202f"  # French groups digits and sets "%" apart with it (CLDR)
NBSP = "\u00a0"  # between a French amount and its currency sign
MINUS = "\u2212"  # the minus sign, as the portal's pages write it (billing.selectors.account)


class _Locale:
    def __init__(self, group: str, decimal: str, symbols: dict[str, str], suffix: bool) -> None:
        self.group = group
        self.decimal = decimal
        self.symbols = symbols
        self.suffix = suffix  # the currency goes after the amount


LOCALES = {
    "en": _Locale(",", ".", {"EUR": "€", "GBP": "£", "USD": "US$", "CAD": "CA$"}, suffix=False),
    "fr": _Locale(NARROW_NBSP, ",", {"EUR": "€", "GBP": "£", "USD": "$US", "CAD": "$CA"}, True),
}


def _locale(language: str | None) -> _Locale:
    code = (language or translation.get_language() or "en").split("-")[0].lower()
    return LOCALES.get(code, LOCALES["en"])


def _as_decimal(value: object) -> Decimal:
    if isinstance(value, float):  # a float here is a bug upstream: refuse to round it quietly
        raise TypeError("money and quantities are formatted from Decimal or int, never float")
    return value if isinstance(value, Decimal) else Decimal(str(value))


def format_number(
    value: Decimal | int,
    language: str | None = None,
    *,
    min_decimals: int = 0,
    max_decimals: int = 0,
) -> str:
    """`value` rounded half up to `max_decimals`, trailing zeros dropped down to
    `min_decimals`, digits grouped by three, in the language's separators."""
    locale = _locale(language)
    rounded = _as_decimal(value).quantize(Decimal(1).scaleb(-max_decimals), ROUND_HALF_UP)
    sign = MINUS if rounded < 0 else ""  # never "−0,00"
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    fraction = fraction.rstrip("0").ljust(min_decimals, "0")
    groups = []
    while len(whole) > 3:
        whole, tail = whole[:-3], whole[-3:]
        groups.insert(0, tail)
    groups.insert(0, whole)
    text = locale.group.join(groups)
    return f"{sign}{text}{locale.decimal}{fraction}" if fraction else f"{sign}{text}"


def format_money(
    value: Decimal | int,
    currency: str,
    language: str | None = None,
    *,
    min_decimals: int = 2,
    max_decimals: int = 2,
) -> str:
    """An amount with its currency: `€1,800.00` / `1 800,00 €`; `CHF 1,800.00` /
    `1 800,00 CHF` where the currency has no sign of its own."""
    locale = _locale(language)
    number = format_number(value, language, min_decimals=min_decimals, max_decimals=max_decimals)
    sign, digits = (MINUS, number[1:]) if number.startswith(MINUS) else ("", number)
    symbol = locale.symbols.get(currency, currency)
    if locale.suffix:
        return f"{sign}{digits}{NBSP}{symbol}"
    spacer = NBSP if symbol.isalpha() else ""
    return f"{sign}{symbol}{spacer}{digits}"


def format_percent(value: Decimal | int, language: str | None = None) -> str:
    """A tax rate: `20%` / `20 %`, `5.5%` / `5,5 %`."""
    number = format_number(value, language, max_decimals=2)
    spacer = NARROW_NBSP if _locale(language).suffix else ""
    return f"{number}{spacer}%"


@register.filter
def money(value: Decimal, currency: str) -> str:
    """`{{ invoice.total|money:invoice.currency }}`: two decimals."""
    return format_money(value, currency)


@register.filter
def unit_money(value: Decimal, currency: str) -> str:
    """A price per credit: at least two decimals, up to four, no trailing zeros
    (`0,10 €`, `0,0125 €`), so a fraction of a cent is shown and nothing is rounded away."""
    return format_money(value, currency, min_decimals=2, max_decimals=4)


@register.filter
def quantity(value: int) -> str:
    return format_number(value)


@register.filter
def percent(value: Decimal) -> str:
    return format_percent(value)
