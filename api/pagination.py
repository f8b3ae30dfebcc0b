"""Cursor pagination on every list: stable while rows are added, and as fast on page 1,000
as on page 1 (an offset would rescan every earlier row)."""

from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

# What a list's OpenAPI description says of its cursor pages: one fact in the two wordings
# the published schema has. CURSOR_NOTE opens the lists of consumptions and holds,
# PAGES_NOTE closes the others.
CURSOR_NOTE = (
    "Newest first, by cursor: follow `next` until it is null (a cursor that was not "
    "given by `next` or `previous` is a 400)."
)
PAGES_NOTE = " Pages follow `next`; a `cursor` not made by the API is a `validation_error`."


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request):
        """A cursor the client damaged is its mistake (400), not a missing page (DRF's 404)."""
        try:
            return super().decode_cursor(request)
        except NotFound as error:
            raise ValidationError({self.cursor_query_param: [_("Invalid cursor.")]}) from error


class RecentFirst(NewestFirst):
    """For the ledger's big tables (consumptions, entries): their (organisation, -created_at)
    indexes serve this order, where `-id` would walk the whole table's primary key past other
    organisations' rows. Rows of the same instant are told apart by id (DRF's cursor keeps an
    offset within a tie)."""

    ordering = ("-created_at", "-id")
