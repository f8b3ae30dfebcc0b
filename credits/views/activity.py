"""Every movement of the organisation's credits, filtered, paged and exported (C4, X1, B5)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from clients.access import organisation_page
from clients.roles import Permission


@organisation_page(Permission.VIEW)
def activity(request: HttpRequest) -> HttpResponse:
    return HttpResponse("activity: not built yet")  # replaced by the page's own work


@organisation_page(Permission.VIEW)
def activity_csv(request: HttpRequest) -> HttpResponse:
    return HttpResponse("activity_csv: not built yet")  # replaced by the page's own work


@organisation_page(Permission.VIEW)
def activity_xlsx(request: HttpRequest) -> HttpResponse:
    return HttpResponse("activity_xlsx: not built yet")  # replaced by the page's own work


@organisation_page(Permission.VIEW)
def consumption(request: HttpRequest, consumption_id: int) -> HttpResponse:
    return HttpResponse("consumption: not built yet")  # replaced by the page's own work


urlpatterns = [
    path("activity/", activity, name="activity"),
    path("activity.csv", activity_csv, name="activity_csv"),
    path("activity.xlsx", activity_xlsx, name="activity_xlsx"),
    path("activity/<int:consumption_id>/", consumption, name="consumption"),
]
