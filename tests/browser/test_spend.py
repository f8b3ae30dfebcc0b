"""C5, G6, S1 in a real browser: quote, read the recap, confirm, and see the balance drop by
exactly the recap's cost; cancel a recap and see nothing move."""

import re

import pytest
from django.utils import timezone

from clients.models import Client, Organisation
from credits import services
from credits.models import ClientAccount
from credits.selectors import pool_figures
from demo import services as demo

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S1_TEXT = "a" * 161  # GSM-7 over one part: 2 parts of 153


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", demo.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/o/[\w-]+/$"))


def home_balance(page, live_server, slug: str) -> int:
    page.goto(f"{live_server.url}/o/{slug}/")
    return int(page.get_by_test_id("balance").inner_text().replace(",", ""))


def figure(page, testid: str) -> int:
    return int(page.get_by_test_id(testid).inner_text().replace(",", ""))


def test_an_sms_to_two_countries_is_quoted_confirmed_and_debited_exactly_once_s1_c5(
    live_server, page
):
    # Given the demo's SMS platform, its owner logged in, and the balance on her home page
    demo.load_demo()
    organisation = Organisation.objects.get(slug="smsplatform")
    log_in(page, live_server, "smsplatform-owner")
    before = home_balance(page, live_server, "smsplatform")
    assert before == pool_figures(organisation).balance
    # And the rate card, filtered as she types a country (htmx), shows Italy's rate alone
    page.goto(f"{live_server.url}/o/smsplatform/rates/")
    page.fill("#id_q", "Italy")
    page.wait_for_url(re.compile(r"/rates/\?q=Italy$"))
    rows = page.get_by_test_id("sms-rates-sms").locator("tbody tr")
    rows.first.wait_for()
    assert rows.all_inner_texts() == ["Italy\tIT\t+39\t1"]
    # When she writes a 161-character text to a French and an Italian number
    page.goto(f"{live_server.url}/o/smsplatform/spend/sms/")
    page.fill("#id_p_text", S1_TEXT)
    assert page.locator("[data-sms-count]").inner_text() == "161 characters · GSM-7 · 2 parts"
    page.fill("#id_p_recipients", "+33612345678, +39312345678")
    page.get_by_test_id("see-recap").click()
    page.wait_for_url(re.compile(r"/spend/quotes/\d+/$"))
    # Then the recap says 2 parts to each country, 4 credits, and the balance after
    lines = page.get_by_test_id("computation").locator("li").all_inner_texts()
    assert lines == [
        "GSM-7, 161 characters: 2 parts.",
        "France (FR): 1 recipient × 2 parts × 1 credit per part = 2 credits",
        "Italy (IT): 1 recipient × 2 parts × 1 credit per part = 2 credits",
    ]
    cost = figure(page, "cost")
    assert cost == 4
    assert figure(page, "balance-after") == before - cost
    # When she confirms (a double click sends it once)
    page.get_by_test_id("confirm").dblclick()
    page.wait_for_url(re.compile(r"/o/smsplatform/activity/\d+/$"))
    # Then the home page's balance dropped by exactly the recap's cost
    after = home_balance(page, live_server, "smsplatform")
    assert after == before - cost

    # Given a second recap
    page.goto(f"{live_server.url}/o/smsplatform/spend/sms/")
    page.fill("#id_p_text", "Hello again")
    page.fill("#id_p_recipients", "DE")
    page.get_by_test_id("see-recap").click()
    page.wait_for_url(re.compile(r"/spend/quotes/\d+/$"))
    # When she cancels it
    page.get_by_test_id("cancel").click()
    page.wait_for_url(re.compile(r"/o/smsplatform/spend/sms/\?quote=\d+$"))
    # Then she is back on the form, filled in, and nothing moved
    assert page.input_value("#id_p_recipients") == "DE"
    assert home_balance(page, live_server, "smsplatform") == after


def test_enrolling_20_learners_costs_120_credits_of_the_clients_assignment_g6_c5(live_server, page):
    # Given the serious-game studio's client Acme with at least 120 credits assigned
    demo.load_demo()
    organisation = Organisation.objects.get(slug="seriousgames")
    acme = Client.objects.get(organisation=organisation, name="Acme Training")
    services.assign(organisation=organisation, client=acme, credits=120, now=timezone.now())
    assigned = ClientAccount.objects.get(pk=acme.pk).assigned_remaining
    log_in(page, live_server, "seriousgames-owner")
    before = home_balance(page, live_server, "seriousgames")
    # When the owner enrols 20 of Acme's learners in a game
    page.goto(f"{live_server.url}/o/seriousgames/spend/enrolment/")
    page.select_option("#id_client", label="Acme Training")
    page.fill("#id_p_learners", "20")
    page.fill("#id_p_game", "Cyber-security basics")
    page.get_by_test_id("see-recap").click()
    page.wait_for_url(re.compile(r"/spend/quotes/\d+/$"))
    # Then the recap reads 20 × 6 = 120 credits
    assert page.get_by_test_id("computation").inner_text().strip() == (
        "20 learners × 6 credits = 120 credits"
    )
    assert figure(page, "cost") == 120
    assert page.get_by_test_id("recap-client").inner_text() == "Acme Training"
    # When she confirms
    page.get_by_test_id("confirm").click()
    page.wait_for_url(re.compile(r"/o/seriousgames/activity/\d+/$"))
    # Then Acme's assigned credits and the balance dropped by exactly 120
    assert ClientAccount.objects.get(pk=acme.pk).assigned_remaining == assigned - 120
    assert home_balance(page, live_server, "seriousgames") == before - 120
