"""Usage aggregates over the API: credits and uses by action, client or month (S6, M4, C1).

The period is given as months (`2025-01`) or dates (`2025-01-15`): a month given as `from`
starts on its first day, given as `to` ends on its last; days are the organisation's."""

import re
from datetime import date

from dateutil.relativedelta import relativedelta
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from credits.forms.usage import EARLIEST, LATEST, MAX_MONTHS, default_period
from credits.selectors.usage import Period, month_end

GROUPS = [("action", "action"), ("client", "client"), ("month", "month")]
BIG = 2**62
_BOUND = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


@extend_schema_field(
    {"type": "string", "pattern": _BOUND.pattern, "maxLength": 10, "example": "2025-01"}
)
class PeriodBoundField(serializers.CharField):
    """`YYYY-MM` or `YYYY-MM-DD`, read as (the date, whether it named a whole month)."""

    default_error_messages = {
        "invalid": _("Enter a month as YYYY-MM or a date as YYYY-MM-DD."),
        "out_of_range": _("Choose a date between %(earliest)s and %(latest)s."),
    }

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("max_length", 10)
        super().__init__(**kwargs)

    def to_internal_value(self, data: object) -> tuple[date, bool]:
        text = super().to_internal_value(data)
        if not _BOUND.match(text):
            self.fail("invalid")
        whole_month = len(text) == 7
        try:
            day = date.fromisoformat(f"{text}-01" if whole_month else text)
        except ValueError:
            self.fail("invalid")
        if not EARLIEST <= day <= LATEST:
            # The portal's message (%-style), which DRF's fail() would not fill in.
            bounds = {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()}
            raise serializers.ValidationError(
                self.error_messages["out_of_range"] % bounds, code="out_of_range"
            )
        return day, whole_month


class UsageQuerySerializer(serializers.Serializer):
    """The query string. `from` is a Python keyword, hence the fields made in get_fields.
    Give `today` (the organisation's) in the context: the default period ends this month."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = PeriodBoundField(
            required=False,
            help_text=(
                "First month (`YYYY-MM`) or day (`YYYY-MM-DD`) of the period. Default: 11 months "
                "before `to`, or 12 months ago when neither is given."
            ),
        )
        fields["to"] = PeriodBoundField(
            required=False,
            help_text=(
                "Last month or day of the period, included. Default: the end of this month. "
                "At most 120 months from `from`."
            ),
        )
        fields["group_by"] = serializers.ChoiceField(
            choices=GROUPS,
            required=False,
            default="action",
            help_text="What each row sums: one action, one client or one month.",
        )
        fields["client"] = serializers.IntegerField(
            required=False,
            min_value=1,
            max_value=BIG,
            help_text=(
                "Only this client's usage. A key tied to a client always gets its client's only."
            ),
        )
        return fields

    def validate(self, data: dict) -> dict:
        today: date = self.context["today"]
        first_given, last_given = data.get("from"), data.get("to")
        if first_given is None and last_given is None:
            period = default_period(today)
            first, last = period.first, period.last
        else:
            last = None
            if last_given is not None:
                last, whole_month = last_given
                last = month_end(last) if whole_month else last
            if first_given is not None:
                first = first_given[0]
            else:
                first = last.replace(day=1) - relativedelta(months=11)
            if last is None:
                last = max(first, month_end(today))
        if first > last:
            raise serializers.ValidationError({"to": [_("The start date is after the end date.")]})
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        if months > MAX_MONTHS:
            too_long = _("Choose a period of at most %(months)s months.")
            raise serializers.ValidationError({"to": [too_long % {"months": MAX_MONTHS}]})
        data["period"] = Period(max(first, EARLIEST), min(last, LATEST))
        return data


class UsageRowSerializer(serializers.Serializer):
    action = serializers.CharField(
        allow_null=True, help_text="The action's code (rows by action), else null."
    )
    client = serializers.IntegerField(
        allow_null=True, help_text="The client's id (rows by client), else null."
    )
    month = serializers.CharField(
        allow_null=True, help_text="`YYYY-MM` (rows by month), else null."
    )
    name = serializers.CharField(
        help_text="The action's or the client's name; the month for rows by month."
    )
    first = serializers.DateField(
        allow_null=True, help_text="Rows by month: the month's first day inside the period."
    )
    last = serializers.DateField(
        allow_null=True, help_text="Rows by month: the month's last day inside the period."
    )
    free = serializers.BooleanField(
        allow_null=True, help_text="Rows by action: whether the action is free (C1), else null."
    )
    is_active = serializers.BooleanField(
        allow_null=True, help_text="Rows by client: whether the client is active, else null."
    )
    uses = serializers.IntegerField(help_text="Consumptions, free ones included.")
    credits = serializers.IntegerField(help_text="Credits they spent.")


class UsageSerializer(serializers.Serializer):
    """`from` and `to` echo the period the rows cover, as days (made in get_fields, as in the
    query)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "from": serializers.DateField(
                source="period.first", help_text="The period's first day (organisation's zone)."
            ),
            "to": serializers.DateField(
                source="period.last", help_text="The period's last day, included."
            ),
            **super().get_fields(),
        }

    group_by = serializers.ChoiceField(choices=GROUPS)
    client = serializers.IntegerField(
        allow_null=True, help_text="The one client it is about, or null: the whole organisation."
    )
    uses = serializers.IntegerField(help_text="All consumptions of the period.")
    credits = serializers.IntegerField(help_text="All credits spent in the period.")
    rows = UsageRowSerializer(
        many=True,
        help_text=(
            "By action or client: those with use, most credits first. By month: every month of "
            "the period, those without use at 0, in order."
        ),
    )
