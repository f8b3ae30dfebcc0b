"""Cursor pagination on every list: stable while rows are added, and as fast on page 1,000
as on page 1 (an offset would rescan every earlier row)."""

from rest_framework.pagination import CursorPagination


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
