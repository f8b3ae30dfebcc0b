"""Buying credits through the API (K4, D1, S3, X3, X4, X6): paid at once (201), on
enterprise terms (201, invoiced), declined (402, nothing bought), being processed (202, then
paid by the settle job, one charge); every refusal moves nothing; purchases belong to the
whole organisation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from api.models import IdempotentRequest
from billing import services
from billing.models import BillingProfile, Invoice, Package, Purchase
from credits.models import CreditPool
from demo.catalogue import set_up_billing

pytestmark = pytest.mark.django_db
BUY = "/api/v1/purchases/"


def _balance(portal) -> int:
    return CreditPool.objects.get(pk=portal.organisation.pk).balance


def _bought(portal) -> tuple[int, int]:
    """(purchases recorded, invoices issued) of the organisation."""
    return (
        Purchase.objects.filter(organisation=portal.organisation).count(),
        Invoice.objects.filter(organisation=portal.organisation).count(),
    )


@pytest.fixture
def alpha(make_portal, catalogue, recording_gateway):
    """On the default EUR list (1.80 a credit from 100 credits, 20 % VAT), the sandbox Visa
    on file, no enterprise terms."""
    portal = make_portal("alpha", preset="crm")
    set_up_billing(portal.organisation, None, enterprise=False, now=timezone.now())
    return portal


def test_k4_d1_buying_120_credits_by_card_answers_201_paid_and_adds_them(
    alpha, make_api, recording_gateway
):
    # given a read-and-write key of the whole organisation, and its balance
    api = make_api(alpha)
    before = _balance(alpha)
    # when it buys 120 credits with the card on file
    response = api.post(BUY, {"credits": 120}, key="buy-1")
    # then 201 with the paid purchase, its exact price and its invoice
    assert response.status_code == 201
    body = response.json()
    bought = Purchase.objects.get(organisation=alpha.organisation)
    assert body == {
        "id": bought.pk,
        "kind": "credits",
        "origin": "api",
        "status": "paid",
        "package": None,
        "credits": 120,
        "unit_price": "1.8000",
        "amount": "216.00",
        "tax_rate": "20.00",
        "tax": "43.20",
        "total": "259.20",
        "currency": "EUR",
        "method": "card",
        "decline_reason": "",
        "invoice": bought.invoice_id,
        "invoice_number": bought.invoice.number,
        "created_at": body["created_at"],
        "completed_at": body["completed_at"],
    }
    # and the card was charged once, the credits are there, the key's creator is the actor
    assert recording_gateway.taken == [Decimal("259.20")]
    assert _balance(alpha) == before + 120
    assert bought.actor == alpha.owner
    assert bought.idempotency_key == "api:buy-1"


def test_k4_x3_the_same_purchase_sent_twice_with_one_key_buys_once(
    alpha, make_api, recording_gateway
):
    api = make_api(alpha)
    before = _balance(alpha)
    first = api.post(BUY, {"credits": 120}, key="buy-1")
    second = api.post(BUY, {"credits": 120}, key="buy-1")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert recording_gateway.taken == [Decimal("259.20")]
    assert _bought(alpha) == (1, 1)
    assert _balance(alpha) == before + 120


def test_k4_x3_a_retry_the_api_did_not_remember_is_still_bought_once(
    alpha, make_api, recording_gateway
):
    """The process died after the purchase committed and before the API recorded its answer:
    the retry reaches the purchase service, which knows the key (api:<key>)."""
    api = make_api(alpha)
    before = _balance(alpha)
    first = api.post(BUY, {"credits": 120}, key="buy-1")
    IdempotentRequest.objects.filter(key="buy-1").delete()
    again = api.post(BUY, {"credits": 120}, key="buy-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert recording_gateway.taken == [Decimal("259.20")]
    assert _balance(alpha) == before + 120


def test_k4_s3_a_package_on_sale_is_bought_at_its_price(make_portal, catalogue, make_api):
    # given an SMS organisation on the SMS list, whose package "SMS 5 000" costs 250.00
    portal = make_portal("texto", preset="sms")
    set_up_billing(portal.organisation, catalogue["sms"], enterprise=False, now=timezone.now())
    package = Package.objects.get(name="SMS 5 000")
    before = _balance(portal)
    # when the package is bought
    response = make_api(portal).post(BUY, {"package": package.pk}, key="pack-1")
    # then 5,000 credits for 250.00 + 50.00 VAT
    assert response.status_code == 201
    body = response.json()
    assert (body["package"], body["credits"], body["amount"], body["tax"], body["total"]) == (
        package.pk,
        5000,
        "250.00",
        "50.00",
        "300.00",
    )
    assert _balance(portal) == before + 5000


def test_k4_d1_on_enterprise_terms_the_purchase_is_invoiced_due_in_30_days(
    alpha, make_api, recording_gateway
):
    # given an organisation open to enterprise terms
    BillingProfile.objects.filter(organisation=alpha.organisation).update(enterprise_terms=True)
    before = _balance(alpha)
    # when it buys 1,000 credits on those terms (1.50 each)
    response = make_api(alpha).post(
        BUY, {"credits": 1000, "method": "enterprise_terms"}, key="ent-1"
    )
    # then 201, invoiced, due 30 days after issue, credits at once, no card charged
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["method"], body["total"]) == (
        "invoiced",
        "enterprise_terms",
        "1800.00",
    )
    invoice = Invoice.objects.get(pk=body["invoice"])
    assert (invoice.status, invoice.due_on) == ("open", invoice.issued_on + timedelta(days=30))
    assert _balance(alpha) == before + 1000
    assert recording_gateway.calls == 0


def test_k4_x6_a_declined_card_is_a_402_with_the_reason_and_buys_nothing(
    alpha, make_api, recording_gateway
):
    # given a bank that declines the next charge
    recording_gateway.script = ["declined"]
    api = make_api(alpha)
    before = _balance(alpha)
    # when 120 credits are bought
    response = api.post(BUY, {"credits": 120}, key="buy-1")
    # then 402 payment_declined with the bank's reason, and nothing bought
    assert response.status_code == 402
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["code"], body["detail"]) == ("payment_declined", "Your card was declined.")
    assert _balance(alpha) == before
    assert recording_gateway.taken == []
    assert Purchase.objects.get(organisation=alpha.organisation).status == "declined"
    assert Invoice.objects.filter(organisation=alpha.organisation).count() == 0
    # and the same request gets the same answer without asking the bank again
    assert api.post(BUY, {"credits": 120}, key="buy-1").status_code == 402
    assert recording_gateway.calls == 1


def test_k4_x4_a_payment_still_being_processed_is_a_202_then_paid_once_by_the_job(
    alpha, make_api, recording_gateway
):
    # given a gateway that charges but whose answer is lost on the way back
    recording_gateway.script = ["timeout_after"]
    api = make_api(alpha)
    before = _balance(alpha)
    # when 120 credits are bought
    response = api.post(BUY, {"credits": 120}, key="buy-1")
    # then 202: the purchase is recorded and being paid, no credits yet
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["total"], body["invoice"]) == ("charging", "259.20", None)
    assert _balance(alpha) == before
    # when the settle job runs after the lease
    services.settle_purchases(now=timezone.now() + timedelta(minutes=3))
    # then the purchase reads paid, the credits are there, the card was charged once
    read = api.get(f"{BUY}{body['id']}/").json()
    assert read["status"] == "paid"
    assert _balance(alpha) == before + 120
    assert recording_gateway.taken == [Decimal("259.20")]


def test_k4_x6_a_purchase_beyond_the_bounds_is_a_400_and_nothing_moves(
    alpha, make_api, recording_gateway
):
    api = make_api(alpha)
    before = _balance(alpha)
    # 1,000,000,000 credits at 1.35 is 1.62 billion EUR with VAT: past the 10 million bound
    response = api.post(BUY, {"credits": 1_000_000_000})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "out_of_bounds"
    assert body["detail"] == (
        "One purchase is limited to 10,000,000.00 EUR; contact us for larger orders."
    )
    # and a quantity past the documented maximum is refused before pricing
    response = api.post(BUY, {"credits": 10**20})
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    assert _balance(alpha) == before
    assert _bought(alpha) == (0, 0)
    assert recording_gateway.calls == 0


def test_k4_x6_enterprise_terms_not_open_is_a_400_billing_refused(
    alpha, make_api, recording_gateway
):
    before = _balance(alpha)
    response = make_api(alpha).post(BUY, {"credits": 120, "method": "enterprise_terms"})
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["detail"]) == (
        "billing_refused",
        "Enterprise terms are not open to this organisation.",
    )
    assert (_balance(alpha), _bought(alpha), recording_gateway.calls) == (before, (0, 0), 0)


def test_k4_x6_no_price_list_for_the_currency_is_a_400_billing_refused(make_portal, make_api):
    # given an organisation in CHF, for which no price list exists
    portal = make_portal("swiss", preset="crm")
    type(portal.organisation).objects.filter(pk=portal.organisation.pk).update(currency="CHF")
    before = _balance(portal)
    response = make_api(portal).post(BUY, {"credits": 120})
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["detail"]) == ("billing_refused", "No price list for CHF.")
    assert (_balance(portal), _bought(portal)) == (before, (0, 0))


def test_k4_x6_paying_by_card_with_none_on_file_is_a_402_and_nothing_is_recorded(
    alpha, make_api, recording_gateway
):
    BillingProfile.objects.filter(organisation=alpha.organisation).update(card_token="")
    before = _balance(alpha)
    response = make_api(alpha).post(BUY, {"credits": 120})
    assert response.status_code == 402
    body = response.json()
    assert (body["code"], body["detail"]) == (
        "payment_declined",
        "Add a card before paying by card.",
    )
    assert (_balance(alpha), _bought(alpha), recording_gateway.calls) == (before, (0, 0), 0)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"credits": 120, "package": 1},
        {"credits": 0},
        {"credits": "many"},
        {"credits": 120, "method": "transfer"},
        {"credits": 120, "card_number": "4242424242424242", "method": "new_card"},
    ],
)
def test_k4_x6_a_malformed_purchase_is_a_400_validation_error(alpha, make_api, body):
    before = _balance(alpha)
    response = make_api(alpha).post(BUY, body)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert (_balance(alpha), _bought(alpha)) == (before, (0, 0))


def test_k4_a_package_not_on_sale_to_the_organisation_is_not_found(alpha, make_api):
    # given a package of the SMS list, while Alpha buys from the default list
    package = Package.objects.get(name="SMS 5 000")
    before = _balance(alpha)
    response = make_api(alpha).post(BUY, {"package": package.pk})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert (_balance(alpha), _bought(alpha)) == (before, (0, 0))


def test_k4_a_read_only_key_cannot_buy(alpha, make_api, recording_gateway):
    before = _balance(alpha)
    response = make_api(alpha, scope="read").post(BUY, {"credits": 120})
    assert (response.status_code, response.json()["code"]) == (403, "read_only_key")
    assert (_balance(alpha), _bought(alpha), recording_gateway.calls) == (before, (0, 0), 0)


def test_k4_b7_a_key_tied_to_one_client_may_neither_buy_nor_read_purchases(
    alpha, make_api, recording_gateway
):
    services.purchase(organisation=alpha.organisation, now=timezone.now(), method="card", credits=5)
    bought = Purchase.objects.get(organisation=alpha.organisation)
    tied = make_api(alpha, client=alpha.clients[0])
    before = _balance(alpha)
    for response in (
        tied.post(BUY, {"credits": 120}),
        tied.get(BUY),
        tied.get(f"{BUY}{bought.pk}/"),
    ):
        assert (response.status_code, response.json()["code"]) == (403, "client_not_allowed")
    assert (_balance(alpha), _bought(alpha)) == (before, (1, 1))
    assert recording_gateway.calls == 1


def test_k4_purchases_are_listed_newest_first_and_read_one_by_one(alpha, make_api):
    now = timezone.now()
    first = services.purchase(organisation=alpha.organisation, now=now, method="card", credits=5)
    second = services.purchase(organisation=alpha.organisation, now=now, method="card", credits=120)
    api = make_api(alpha, scope="read")
    listed = api.get(BUY).json()["results"]
    assert [(row["id"], row["credits"], row["total"]) for row in listed] == [
        (second.pk, 120, "259.20"),
        (first.pk, 5, "12.00"),
    ]
    assert api.get(BUY, {"status": "declined"}).json()["results"] == []
    assert api.get(f"{BUY}{first.pk}/").json() == listed[1]


def test_k4_x5_another_organisations_purchase_is_not_found(alpha, make_portal, make_api):
    bought = services.purchase(
        organisation=alpha.organisation, now=timezone.now(), method="card", credits=5
    )
    bravo = make_api(make_portal("bravo", preset="crm"))
    response = bravo.get(f"{BUY}{bought.pk}/")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert bravo.get(BUY).json()["results"] == []
