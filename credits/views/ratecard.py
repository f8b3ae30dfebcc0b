"""The rate card and the what-will-it-cost calculator (C1, M1, S1, D2)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from clients.access import organisation_page
from clients.roles import Permission
from credits.forms.spend import RateSearchForm, SpendForm
from credits.selectors import ratecard
from credits.views.spend import quote_asked


@organisation_page(Permission.VIEW)
def rates(request: HttpRequest) -> HttpResponse:
    """Searchable on the server; with htmx the list is replaced as the person types."""
    search = RateSearchForm(request.GET or None)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    context = {
        "search": search,
        "query": query,
        "categories": ratecard.rate_card(request.organisation, query=query),
    }
    fragment = request.htmx and not request.htmx.history_restore_request
    template = "credits/rates/_list.html" if fragment else "credits/rates/index.html"
    return render(request, template, context)


@organisation_page(Permission.SPEND)
def rate(request: HttpRequest, code: str) -> HttpResponse:
    """One action's rule and a calculator: a POST asks for a quote (stored, so the person can
    go on to its recap and confirm at exactly that price)."""
    card = ratecard.action_card(request.organisation, code)
    if card is None:
        raise Http404("No such action.")
    form, recap = None, None
    if not card.free:
        form = SpendForm(
            request.POST if request.method == "POST" else None,
            membership=request.membership,
            action=card.action,
        )
        if request.method == "POST" and form.is_valid():
            now = timezone.now()
            quote = quote_asked(request, form, now=now)
            recap = ratecard.recap_of(quote, now=now) if quote is not None else None
    return render(
        request, "credits/rates/detail.html", {"card": card, "form": form, "recap": recap}
    )


urlpatterns = [
    path("rates/", rates, name="rates"),
    path("rates/<slug:code>/", rate, name="rate"),
]
