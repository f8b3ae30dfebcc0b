"""Spending with a recap first: form, quote, recap, confirm (C5, G6, S1).

Nothing is debited before the person confirms a recap; the confirmation carries a key derived
from the quote, so a double click or a resent form consumes it once (X3). A refusal at any
step (expired quote, credits short, limit reached, assignment used up) shows the recap again
with the reason and its figure, and moves nothing.
"""

from datetime import datetime

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _

from clients.access import organisation_page
from clients.roles import Permission
from credits import selectors, services
from credits.exceptions import CreditsError, PricingError
from credits.forms.spend import ConfirmForm, SpendForm, initial_from
from credits.models import Quote
from credits.selectors import ratecard
from credits.selectors.ratecard import credits_words

MAX_ID = 2**63 - 1


@organisation_page(Permission.SPEND)
def spend(request: HttpRequest) -> HttpResponse:
    categories = ratecard.rate_card(request.organisation, paid_only=True)
    return render(request, "credits/spend/index.html", {"categories": categories})


def _earlier_quote(request: HttpRequest, card: ratecard.ActionCard) -> Quote | None:
    """`?quote=<id>` refills the form from a quote of this action the person may see."""
    raw = request.GET.get("quote", "")
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_ID:
        return None
    quote = ratecard.quote_for(request.membership, int(raw))
    return quote if quote is not None and quote.action_id == card.action.pk else None


@organisation_page(Permission.SPEND)
def spend_action(request: HttpRequest, code: str) -> HttpResponse:
    card = ratecard.action_card(request.organisation, code, paid_only=True)
    if card is None:
        raise Http404("No such paid action.")
    if request.method != "POST":
        earlier = _earlier_quote(request, card)
        form = SpendForm(
            initial=initial_from(earlier) if earlier else None,
            membership=request.membership,
            action=card.action,
        )
        return render(request, "credits/spend/form.html", {"card": card, "form": form})
    form = SpendForm(request.POST, membership=request.membership, action=card.action)
    quote = quote_asked(request, form, now=timezone.now()) if form.is_valid() else None
    if quote is not None:
        return redirect("org:spend_recap", slug=request.organisation.slug, quote_id=quote.pk)
    return render(request, "credits/spend/form.html", {"card": card, "form": form})


def quote_asked(request: HttpRequest, form: SpendForm, *, now: datetime) -> Quote | None:
    """The quote a valid spend form asks for (the spend page and the rate page's calculator);
    None when pricing refuses, with the reason on the form."""
    try:
        return services.quote(
            client=form.cleaned_data["client"],
            action=form.action,
            params=form.params(),
            actor=request.user,
            now=now,
        )
    except PricingError as error:
        form.add_error(None, str(error))
        return None


def _recap(request: HttpRequest, quote: Quote, *, status: int = 200, **extra) -> HttpResponse:
    context = {
        "recap": ratecard.recap_of(quote, now=timezone.now()),
        "confirm": ConfirmForm(quote=quote),
        **extra,
    }
    return render(request, "credits/spend/recap.html", context, status=status)


def _requote(request: HttpRequest, quote: Quote) -> HttpResponse:
    """A fresh quote with the same parameters, for a recap that expired or was refused."""
    try:
        fresh = services.quote(
            client=quote.client,
            action=quote.action,
            params=quote.params,
            actor=request.user,
            now=timezone.now(),
        )
    except PricingError as error:
        return _recap(request, quote, status=400, error=str(error))
    return redirect("org:spend_recap", slug=request.organisation.slug, quote_id=fresh.pk)


@organisation_page(Permission.SPEND)
def spend_recap(request: HttpRequest, quote_id: int) -> HttpResponse:
    quote = ratecard.quote_for(request.membership, quote_id)
    if quote is None:
        raise Http404("No such quote.")
    if request.method != "POST":
        return _recap(request, quote)
    if request.POST.get("intent") == "requote":
        return _requote(request, quote)
    form = ConfirmForm(request.POST, quote=quote)
    if not form.is_valid():
        return _recap(request, quote, status=400, error=" ".join(form.errors["idempotency_key"]))
    already_confirmed = quote.consumption_id is not None
    try:
        consumption = services.consume(
            client=quote.client,
            action=quote.action,
            quote=quote,
            actor=request.user,
            idempotency_key=form.cleaned_data["idempotency_key"],
            now=timezone.now(),
        )
    except CreditsError as error:
        quote.refresh_from_db()
        refusal = ratecard.refusal_from_error(error)
        return _recap(request, quote, status=error.http_status, refusal=refusal)
    balance = selectors.pool_figures(request.organisation).balance
    if already_confirmed:
        messages.info(request, _("This quote was already confirmed: nothing more was spent."))
    else:
        messages.success(
            request,
            _("%(credits)s spent. New balance: %(balance)s.")
            % {"credits": credits_words(consumption.credits), "balance": credits_words(balance)},
        )
    return redirect(
        "org:consumption", slug=request.organisation.slug, consumption_id=consumption.pk
    )


urlpatterns = [
    path("spend/", spend, name="spend"),
    path("spend/<slug:code>/", spend_action, name="spend_action"),
    path("spend/quotes/<int:quote_id>/", spend_recap, name="spend_recap"),
]
