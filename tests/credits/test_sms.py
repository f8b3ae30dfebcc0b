"""S1: SMS length, encoding and price by destination country."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credits import pricing, sms
from credits.exceptions import CreditsError
from credits.models import SmsRate

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # € is an extension character: two places
        ("€" * 81, "GSM-7", 162, 2),
        ("[" + "a" * 159, "GSM-7", 161, 2),
        ("a" * 152 + "€", "GSM-7", 154, 1),  # 154 septets still fit one part of 160
        # an escape pair is never split: 152 + € does not fit the 153 of the first part
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
        ("é" * 70, "GSM-7", 70, 1),  # é is in the GSM-7 alphabet
        ("ê" * 70, "UCS-2", 70, 1),  # ê is not: the whole text switches to UCS-2
        ("ê" * 71, "UCS-2", 71, 2),
        ("ê" * 134, "UCS-2", 134, 2),
        ("ê" * 135, "UCS-2", 135, 3),
        ("Hello 😀" + "a" * 62, "UCS-2", 70, 1),  # one emoji: two UTF-16 units
        ("Hello 😀" + "a" * 63, "UCS-2", 71, 2),
        # a raw ESC (U+001B) is not a GSM 03.38 character (it introduces the extension
        # table): the text goes as UCS-2, 71 units in 2 parts instead of 71 septets in 1
        ("\x1b" + "a" * 70, "UCS-2", 71, 2),
    ],
)
def test_segments_are_counted_by_encoding_s1(text, encoding, units, segments):
    assert sms.measure(text) == sms.SmsLength(encoding, units, segments)


@pytest.fixture
def rates(organisation):
    for country, calling_code, credits in (("FR", "33", 1), ("DE", "49", 2), ("CH", "41", 3)):
        SmsRate.objects.create(
            organisation=organisation,
            country=country,
            name=country,
            calling_code=calling_code,
            credits_per_segment=credits,
        )
    return organisation


def test_a_mixed_country_campaign_counts_each_recipient_at_its_countrys_rate_s1(rates):
    # 2 parts × (3 French × 1 + 1 German × 2 + 1 Swiss × 3) = 16 credits
    price = pricing.sms_price(
        rates.pk,
        "a" * 200,
        ["+33611111111", "0033622222222", "FR", "+4915111111111", "+41791234567"],
    )
    assert price.credits == 16
    assert price.details == {
        "encoding": "GSM-7",
        "characters": 200,
        "segments": 2,
        "recipients": 5,
        "countries": {"CH": 1, "DE": 1, "FR": 3},
        "rates": {"CH": 3, "DE": 2, "FR": 1},
    }


def test_a_recipient_in_a_country_without_a_rate_is_refused_with_its_number_s1(rates):
    with pytest.raises(CreditsError, match="No SMS rate for the number “\\+81312345678”"):
        pricing.sms_price(rates.pk, "hi", ["+33611111111", "+81312345678"])
    with pytest.raises(CreditsError, match="No SMS rate for: JP"):
        pricing.sms_price(rates.pk, "hi", ["JP"])
    with pytest.raises(CreditsError, match="The message has no recipients"):
        pricing.sms_price(rates.pk, "hi", [])


def test_the_purchase_page_helper_says_how_many_sms_credits_buy_per_country_s3(rates):
    assert pricing.messages_for_credits(rates.pk, 1000) == {"CH": 333, "DE": 500, "FR": 1000}


GSM_AND_MORE = st.text(
    alphabet=st.sampled_from([*sorted(sms.GSM7_BASIC | sms.GSM7_EXTENSION), "ê", "😀", "ж"]),
    max_size=400,
)


@settings(max_examples=300, deadline=None)
@given(text=GSM_AND_MORE, more=GSM_AND_MORE)
def test_an_sms_never_costs_fewer_parts_when_it_grows_s1(text, more):
    assert sms.measure(text + more).segments >= sms.measure(text).segments
