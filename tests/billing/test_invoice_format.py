"""K3: amounts, unit prices, quantities and rates written for the invoice's locale, from
Decimal only (X1: money is never a float)."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from billing.templatetags.invoice_format import (
    format_money,
    format_number,
    format_percent,
)

NNBSP, NBSP, MINUS = "\u202f", "\u00a0", "\u2212"


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        ("1800.00", "EUR", "en", "€1,800.00"),
        ("1800.00", "EUR", "fr", f"1{NNBSP}800,00{NBSP}€"),
        ("0.10", "EUR", "fr", f"0,10{NBSP}€"),
        ("-2160.00", "EUR", "fr", f"{MINUS}2{NNBSP}160,00{NBSP}€"),
        ("-2160.00", "EUR", "en", f"{MINUS}€2,160.00"),
        ("1234567.5", "GBP", "en", "£1,234,567.50"),
        ("1234567.5", "GBP", "fr", f"1{NNBSP}234{NNBSP}567,50{NBSP}£"),
        ("99", "CHF", "en", f"CHF{NBSP}99.00"),
        ("99", "USD", "fr", f"99,00{NBSP}$US"),
        ("0.005", "EUR", "en", "€0.01"),
        ("-0.004", "EUR", "fr", f"0,00{NBSP}€"),
    ],
)
def test_amounts_are_written_for_the_locale_with_their_currency_k3(
    amount, currency, language, expected
):
    # Given an amount in a currency, When it is written in a language, Then it reads so
    assert format_money(Decimal(amount), currency, language) == expected


@pytest.mark.parametrize(
    ("price", "language", "expected"),
    [
        ("0.1000", "fr", f"0,10{NBSP}€"),
        ("0.1000", "en", "€0.10"),
        ("1.8000", "fr", f"1,80{NBSP}€"),
        ("0.0125", "fr", f"0,0125{NBSP}€"),
        ("0.1250", "en", "€0.125"),
        ("2", "en", "€2.00"),
        ("0.00005", "en", "€0.0001"),
    ],
)
def test_unit_prices_keep_two_to_four_decimals_without_trailing_zeros_k3(price, language, expected):
    # Given a price per credit, When it is written, Then 2 to 4 decimals, nothing lost
    assert format_money(Decimal(price), "EUR", language, min_decimals=2, max_decimals=4) == expected


def test_quantities_and_rates_are_grouped_and_spaced_per_locale_k3():
    # Given whole quantities and tax rates
    # When they are written in English and in French
    # Then the digits are grouped and the percent sign spaced as each language does
    assert format_number(18_000, "en") == "18,000"
    assert format_number(18_000, "fr") == f"18{NNBSP}000"
    assert format_number(999, "fr") == "999"
    assert format_number(10**12, "en") == "1,000,000,000,000"
    assert format_percent(Decimal("20.00"), "en") == "20%"
    assert format_percent(Decimal("5.50"), "fr") == f"5,5{NNBSP}%"


def test_a_float_is_refused_rather_than_rounded_quietly_x1():
    # Given a float where money is expected, When it is formatted, Then it is refused
    with pytest.raises(TypeError):
        format_money(0.1, "EUR", "en")


def test_the_filters_follow_the_active_language_k3():
    # Given a template using the filters
    template = Template(
        "{% load invoice_format %}{{ total|money:'EUR' }} {{ unit|unit_money:'EUR' }} "
        "{{ credits|quantity }} {{ rate|percent }}"
    )
    context = Context(
        {"total": Decimal("1800.00"), "unit": Decimal("0.1000"), "credits": 18000,
         "rate": Decimal("20.00")}
    )  # fmt: skip
    # When it is rendered under each language
    with translation.override("fr"):
        french = template.render(context)
    with translation.override("en"):
        english = template.render(context)
    # Then each reads as its language writes
    assert french == f"1{NNBSP}800,00{NBSP}€ 0,10{NBSP}€ 18{NNBSP}000 20{NNBSP}%"
    assert english == "€1,800.00 €0.10 18,000 20%"
