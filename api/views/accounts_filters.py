"""Strict query filters of the account routes (clients, lots, ledger): a value that is not
understood is a 400 `validation_error`, never silently ignored nor a 500 (X6).

django-filter's own filters are lenient where an API must not be: its boolean filter reads
"yes please" as "no filter", its number filter takes 1.5 or 10**40 for an id (the database
then overflows), a date in year 9999 with an offset overflows when turned into UTC, and
PostgreSQL refuses offsets beyond ±15:59 that Python accepts.
"""

from datetime import UTC, datetime

from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters import fields as filter_fields
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

BIG = 2**62  # ids beyond any real one: a validation error, not an overflow
EARLIEST_YEAR = 1900
LATEST_YEAR = 2999


class _StrictBooleanField(forms.Field):
    widget = forms.TextInput
    default_error_messages = {"invalid": _("Enter true or false.")}
    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value: object) -> bool | None:
        if value in (None, ""):
            return None
        try:
            return self.VALUES[str(value).strip().lower()]
        except KeyError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class StrictBooleanFilter(filters.BooleanFilter):
    """`true`/`false` (or 1/0); anything else is refused."""

    field_class = _StrictBooleanField

    def __init__(self, *args: object, **kwargs: object) -> None:
        # The REST flavour's widget reads any unknown word as "no filter": read the text.
        kwargs["widget"] = forms.TextInput
        super().__init__(*args, **kwargs)


class _IdField(forms.IntegerField):
    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIG)
        super().__init__(**kwargs)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": BIG})
class IdFilter(filters.NumberFilter):
    """A whole id from 1 to 2**62; an id of another organisation simply matches nothing,
    because every list starts from the key's organisation."""

    field_class = _IdField

    def get_max_validator(self) -> None:
        return None  # the field's own max_value bounds it


class _BoundedDateTimeField(filter_fields.IsoDateTimeField):
    default_error_messages = {
        "out_of_range": _("Choose a time between the years %(earliest)s and %(latest)s."),
    }

    def to_python(self, value: object) -> datetime | None:
        found = super().to_python(value)
        if found is None:
            return None
        if not EARLIEST_YEAR <= found.year <= LATEST_YEAR:
            raise forms.ValidationError(
                self.error_messages["out_of_range"],
                code="out_of_range",
                params={"earliest": EARLIEST_YEAR, "latest": LATEST_YEAR},
            )
        # In UTC: Python takes offsets up to ±23:59, PostgreSQL only up to ±15:59, and the
        # psycopg adapter sends the offset as given (a 500 for "+20:05").
        return found.astimezone(UTC)


@extend_schema_field(OpenApiTypes.DATETIME)
class BoundedDateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 time, with its offset (a time without one is read in the server's zone),
    between the years 1900 and 2999."""

    field_class = _BoundedDateTimeField
