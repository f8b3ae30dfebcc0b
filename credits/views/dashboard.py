"""The home page: the pool's figures, what expires soon, the run-out forecast (C3, S2, G4, B4)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from clients.access import organisation_page
from clients.roles import Permission
from credits import selectors


@organisation_page(Permission.VIEW)
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request, "credits/home.html", {"figures": selectors.pool_figures(request.organisation)}
    )


@organisation_page(Permission.VIEW)
def home_figures(request: HttpRequest) -> HttpResponse:
    return HttpResponse("home_figures: not built yet")  # replaced by the page's own work


urlpatterns = [
    path("", home, name="home"),
    path("figures/", home_figures, name="home_figures"),
]
