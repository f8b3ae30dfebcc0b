"""The home page: the pool's figures, what expires soon, the run-out forecast (C3, S2, G4, B4);
for a member tied to one client, that client's figures instead.

The figures are one fragment that the page fetches again every 15 seconds (htmx), and both
routes read the database afresh at every request (C3)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from clients.access import organisation_page
from clients.roles import Permission
from credits.selectors import dashboard


def _home_context(request: HttpRequest) -> dict[str, object]:
    home = dashboard.home_of(request.membership, now=timezone.now())
    return {"home": home, "figures": None if home.for_client else home.figures}


@organisation_page(Permission.VIEW)
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "credits/home.html", _home_context(request))


@organisation_page(Permission.VIEW)
def home_figures(request: HttpRequest) -> HttpResponse:
    """The figures alone, for the page's periodic refresh (a plain GET renders them too)."""
    return render(request, "credits/_home_figures.html", _home_context(request))


urlpatterns = [
    path("", home, name="home"),
    path("figures/", home_figures, name="home_figures"),
]
