"""Buying credits (S3, S4, G2, D1, X3): the offers, a live price, the checkout, the outcome.

The offers page lists the packages on sale and prices a custom quantity live (an htmx
fragment asks `billing.pricing` again at each change: the server's price is the truth). The
checkout names what is bought, its price and what it does to the expiry of the credits held,
and posts to one service call, `billing.services.purchase`, with an idempotency key drawn
when the form is drawn, so a double click or a refresh buys once. Every recorded purchase,
paid, declined or still being confirmed, ends on its own page saying so plainly; a refusal
before anything was recorded (bounds, enterprise terms, no card, a card the gateway refuses
to save) is a form error, and nothing is bought.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone

from billing import services
from billing.exceptions import BillingError
from billing.forms.buy import BuyChoiceForm, CheckoutForm, PayWith, PriceForm, new_idempotency_key
from billing.models import PurchaseOrigin
from billing.selectors import buy as selectors
from billing.selectors import checkout as checkouts
from clients.access import organisation_page
from clients.models import Organisation
from clients.roles import Permission


@organisation_page(Permission.BUY)
def buy(request: HttpRequest) -> HttpResponse:
    page = selectors.buy_page(request.organisation, now=timezone.now())
    return render(request, "billing/buy/index.html", {"page": page})


@organisation_page(Permission.BUY)
def buy_price(request: HttpRequest) -> HttpResponse:
    """The live figures of a custom quantity. A refusal (0, text, 10²⁰) is shown inside the
    fragment with a 200: htmx swaps only successful answers, and the person must read why."""
    form = PriceForm(request.GET)
    if form.is_valid():
        live = selectors.custom_price(request.organisation, form.cleaned_data["credits"])
    else:
        live = selectors.custom_price(
            request.organisation, None, error=" ".join(form.errors["credits"])
        )
    return render(request, "billing/buy/_price.html", {"live": live})


def _summary(
    organisation: Organisation, form: BuyChoiceForm
) -> tuple[checkouts.Checkout | None, str]:
    """The checkout's summary, or why there is none (not on sale, out of bounds)."""
    try:
        return checkouts.checkout(organisation, now=timezone.now(), **form.choice()), ""
    except BillingError as refusal:
        return None, str(refusal)


def _checkout_page(
    request: HttpRequest,
    *,
    choice: BuyChoiceForm,
    form: CheckoutForm | None = None,
    summary: checkouts.Checkout | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {"choice": choice, "form": form, "summary": summary, "error": error}
    return render(request, "billing/buy/checkout.html", context, status=status)


def _fresh_form(choice: BuyChoiceForm, summary: checkouts.Checkout) -> CheckoutForm:
    package = choice.cleaned_data.get("package")
    return CheckoutForm(
        organisation=choice.organisation,
        initial={
            "package": package.pk if package else None,
            "credits": choice.cleaned_data.get("credits"),
            "pay_with": PayWith.SAVED_CARD if summary.card else PayWith.NEW_CARD,
            "idempotency_key": new_idempotency_key(),
        },
    )


@organisation_page(Permission.BUY)
def buy_checkout(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation
    if request.method != "POST":
        choice = BuyChoiceForm(request.GET, organisation=organisation)
        if not choice.asked:  # nothing chosen yet: the page says where to choose
            return _checkout_page(request, choice=choice)
        if not choice.is_valid():
            return _checkout_page(request, choice=choice, status=400)
        summary, error = _summary(organisation, choice)
        if summary is None:
            return _checkout_page(request, choice=choice, error=error, status=400)
        form = _fresh_form(choice, summary)
        return _checkout_page(request, choice=choice, form=form, summary=summary)

    form = CheckoutForm(request.POST, organisation=organisation)
    status = 400
    if form.is_valid():
        try:
            bought = services.purchase(
                organisation=organisation,
                now=timezone.now(),
                method=form.method,
                actor=request.user,
                idempotency_key=form.cleaned_data["idempotency_key"],
                origin=PurchaseOrigin.PERSON,
                new_card=form.new_card,
                **form.choice(),
            )
        except BillingError as refusal:
            form.add_error(None, str(refusal))
            status = refusal.http_status
        else:
            return redirect("org:buy_result", slug=organisation.slug, purchase_id=bought.pk)
    # Shown again: nothing was recorded, so a fresh key is as safe as the old one, and it
    # is the only one that works after a key was refused as used for another purchase.
    form.data = form.data.copy()
    form.data["idempotency_key"] = new_idempotency_key()
    choice = BuyChoiceForm(request.POST, organisation=organisation)
    summary, error = _summary(organisation, choice) if choice.is_valid() else (None, "")
    return _checkout_page(
        request, choice=choice, form=form, summary=summary, error=error, status=status
    )


@organisation_page(Permission.BUY)
def buy_result(request: HttpRequest, purchase_id: int) -> HttpResponse:
    """A purchase's outcome. While the payment is being confirmed, the status part asks
    again every few seconds (htmx) and the rest of the page stays."""
    outcome = checkouts.purchase_outcome(request.organisation, purchase_id)
    if outcome is None:
        raise Http404("No such purchase.")
    template = "billing/buy/_outcome.html" if request.htmx else "billing/buy/result.html"
    return render(request, template, {"outcome": outcome})


urlpatterns = [
    path("buy/", buy, name="buy"),
    path("buy/price/", buy_price, name="buy_price"),
    path("buy/checkout/", buy_checkout, name="buy_checkout"),
    path("buy/purchases/<int:purchase_id>/", buy_result, name="buy_result"),
]
