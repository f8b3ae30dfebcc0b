"""API: usage aggregates, credits and uses by action, client or month over a period (S6, M4,
C1), read from the usage report the portal's page draws (`credits.selectors.usage`).

A key tied to a client (B7) gets its client's usage only, as a member tied to a client does
on the page."""

from zoneinfo import ZoneInfo

from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response

from api.schema import problems
from api.serializers.usage import UsageQuerySerializer, UsageSerializer
from api.views.base import ApiView
from credits.selectors.usage import UsageReport, usage_report

USAGE_EXAMPLE = {
    "from": "2025-01-01",
    "to": "2025-03-31",
    "group_by": "action",
    "client": None,
    "uses": 130,
    "credits": 620,
    "rows": [
        {
            "action": "sms",
            "client": None,
            "month": None,
            "name": "SMS",
            "first": None,
            "last": None,
            "free": False,
            "is_active": None,
            "uses": 124,
            "credits": 620,
        },
        {
            "action": "search",
            "client": None,
            "month": None,
            "name": "Search",
            "first": None,
            "last": None,
            "free": True,
            "is_active": None,
            "uses": 6,
            "credits": 0,
        },
    ],
}

_EMPTY = {
    "action": None,
    "client": None,
    "month": None,
    "first": None,
    "last": None,
    "free": None,
    "is_active": None,
}


def _rows(report: UsageReport, group_by: str) -> list[dict]:
    if group_by == "client":
        return [
            _EMPTY
            | {
                "client": line.client_id,
                "name": line.name,
                "is_active": line.is_active,
                "uses": line.uses,
                "credits": line.credits,
            }
            for line in report.by_client
        ]
    if group_by == "month":
        return [
            _EMPTY
            | {
                "month": line.month.strftime("%Y-%m"),
                "name": line.month.strftime("%Y-%m"),
                "first": line.first,
                "last": line.last,
                "uses": line.uses,
                "credits": line.credits,
            }
            for line in report.by_month
        ]
    return [
        _EMPTY
        | {
            "action": line.code,
            "name": line.name,
            "free": line.free,
            "uses": line.uses,
            "credits": line.credits,
        }
        for line in report.by_action
    ]


class UsageView(ApiView):
    serializer_class = UsageSerializer
    pagination_class = None

    @extend_schema(
        operation_id="usage_read",
        summary="Usage by action, client or month",
        description=(
            "Credits spent and uses over a period of whole days in the organisation's time "
            "zone, grouped by action, client or month (every month of the period, empty ones "
            "at 0). Free actions count with 0 credits (C1). The period defaults to the last 12 "
            "months and spans at most 120 months, between 2000 and 2099. One answer, not "
            "paginated: the rows are sums (one per action, client or month with use)."
        ),
        parameters=[UsageQuerySerializer],
        responses={200: UsageSerializer, **problems("validation_error", "not_found")},
        examples=[OpenApiExample("By action", value=USAGE_EXAMPLE, response_only=True)],
        tags=["usage"],
    )
    def get(self, request):
        today = self.now.astimezone(ZoneInfo(self.organisation.time_zone)).date()
        data = self.validated(UsageQuerySerializer, data=request.query_params, today=today)
        client = None
        if "client" in data or self.api_key.client_id is not None:
            client = self.client_for(data.get("client"))
        report = usage_report(self.organisation, data["period"], client=client)
        body = {
            "period": report.period,
            "group_by": data["group_by"],
            "client": client.pk if client is not None else None,
            "uses": report.uses,
            "credits": report.credits,
            "rows": _rows(report, data["group_by"]),
        }
        return Response(UsageSerializer(body).data)


urlpatterns = [path("usage/", UsageView.as_view(), name="usage")]
