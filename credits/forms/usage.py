"""The usage report's period (S6, M4): two dates, a month, or one of the shortcuts."""

from datetime import date

from dateutil.relativedelta import relativedelta
from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from credits.selectors.usage import Period, month_end

# Bounds that keep a period meaningful and its list of months short (a probe for year 1 or
# 9999 would otherwise draw a thousand years of empty months).
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
MAX_MONTHS = 120
DATE_INPUT = ["%Y-%m-%d"]


def default_period(today: date) -> Period:
    """The last 12 months, the current one included."""
    first = today.replace(day=1) - relativedelta(months=11)
    return Period(first, month_end(today))


def shortcuts(today: date) -> list[tuple[Promise, Period]]:
    """The periods people ask for most, as links above the dates."""
    this_month = today.replace(day=1)
    last_month = this_month - relativedelta(months=1)
    return [
        (_("This month"), Period(this_month, month_end(today))),
        (_("Last month"), Period(last_month, month_end(last_month))),
        (_("Last 3 months"), Period(this_month - relativedelta(months=2), month_end(today))),
        (_("Last 12 months"), default_period(today)),
        (_("This year"), Period(today.replace(month=1, day=1), today.replace(month=12, day=31))),
    ]


class UsagePeriodForm(forms.Form):
    """Every field may be left out: the period is then the last 12 months (or, with one date
    given, runs from it or to it)."""

    date_from = forms.DateField(
        label=pgettext_lazy("start of a period", "From"),
        required=False,
        input_formats=DATE_INPUT,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=pgettext_lazy("end of a period", "To"),
        required=False,
        input_formats=DATE_INPUT,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    month = forms.DateField(
        label=_("Month"),
        required=False,
        input_formats=["%Y-%m"],
        help_text=_("A whole month, as YYYY-MM: replaces the dates."),
        error_messages={"invalid": _("Enter a month as YYYY-MM.")},
        widget=forms.HiddenInput,
    )

    def __init__(self, data, *, today: date, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.today = today
        self.period: Period | None = None

    def _bounded(self, name: str) -> date | None:
        value = self.cleaned_data.get(name)
        if value is not None and not EARLIEST <= value <= LATEST:
            raise forms.ValidationError(
                _("Choose a date between %(earliest)s and %(latest)s."),
                code="out_of_range",
                params={"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()},
            )
        return value

    def clean_date_from(self) -> date | None:
        return self._bounded("date_from")

    def clean_date_to(self) -> date | None:
        return self._bounded("date_to")

    def clean_month(self) -> date | None:
        return self._bounded("month")

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        month, first, last = cleaned.get("month"), cleaned.get("date_from"), cleaned.get("date_to")
        if month is not None:
            first, last = month, month_end(month)
        elif first is None and last is None:
            default = default_period(self.today)
            first, last = default.first, default.last
        elif first is None:
            first = last.replace(day=1) - relativedelta(months=11)
        elif last is None:
            last = max(first, month_end(self.today))
        if first > last:
            raise forms.ValidationError(_("The start date is after the end date."), code="reversed")
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        if months > MAX_MONTHS:
            raise forms.ValidationError(
                _("Choose a period of at most %(months)s months."),
                code="too_long",
                params={"months": MAX_MONTHS},
            )
        self.period = Period(max(first, EARLIEST), min(last, LATEST))
        return cleaned


class UsageExportForm(UsagePeriodForm):
    """The period, and the one client whose drill-down is exported (none: the whole report)."""

    client = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
