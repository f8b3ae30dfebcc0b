"""Usage by action, client and month, with charts, drill-down and Excel (S6, M4, C1)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from clients.access import organisation_page
from clients.roles import Permission


@organisation_page(Permission.VIEW)
def usage(request: HttpRequest) -> HttpResponse:
    return HttpResponse("usage: not built yet")  # replaced by the page's own work


@organisation_page(Permission.VIEW)
def usage_xlsx(request: HttpRequest) -> HttpResponse:
    return HttpResponse("usage_xlsx: not built yet")  # replaced by the page's own work


@organisation_page(Permission.VIEW)
def usage_client(request: HttpRequest, client_id: int) -> HttpResponse:
    return HttpResponse("usage_client: not built yet")  # replaced by the page's own work


urlpatterns = [
    path("usage/", usage, name="usage"),
    path("usage.xlsx", usage_xlsx, name="usage_xlsx"),
    path("usage/<int:client_id>/", usage_client, name="usage_client"),
]
