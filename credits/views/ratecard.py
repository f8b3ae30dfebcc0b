"""The rate card and the what-will-it-cost calculator (C1, M1, S1, D2)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from clients.access import organisation_page
from clients.roles import Permission


@organisation_page(Permission.VIEW)
def rates(request: HttpRequest) -> HttpResponse:
    return HttpResponse("rates: not built yet")  # replaced by the page's own work


@organisation_page(Permission.SPEND)
def rate(request: HttpRequest, code: str) -> HttpResponse:
    return HttpResponse("rate: not built yet")  # replaced by the page's own work


urlpatterns = [
    path("rates/", rates, name="rates"),
    path("rates/<slug:code>/", rate, name="rate"),
]
