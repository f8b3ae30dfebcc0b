"""Spending with a recap first: form, quote, recap, confirm (C5, G6, S1)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from clients.access import organisation_page
from clients.roles import Permission


@organisation_page(Permission.SPEND)
def spend(request: HttpRequest) -> HttpResponse:
    return HttpResponse("spend: not built yet")  # replaced by the page's own work


@organisation_page(Permission.SPEND)
def spend_action(request: HttpRequest, code: str) -> HttpResponse:
    return HttpResponse("spend_action: not built yet")  # replaced by the page's own work


@organisation_page(Permission.SPEND)
def spend_recap(request: HttpRequest, quote_id: int) -> HttpResponse:
    return HttpResponse("spend_recap: not built yet")  # replaced by the page's own work


urlpatterns = [
    path("spend/", spend, name="spend"),
    path("spend/<slug:code>/", spend_action, name="spend_action"),
    path("spend/quotes/<int:quote_id>/", spend_recap, name="spend_recap"),
]
