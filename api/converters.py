"""`<id:pk>` in API routes: a row id as the database stores it (a positive bigint).

Why not `<int:…>`: it matches any number of digits, and an id past 2**63 reaches the database
and fails there (a 500). With at most 18 digits such a path matches no route: a 404 problem.
"""

from django.urls import register_converter


class RowId:
    regex = "[1-9][0-9]{0,17}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(RowId, "id")
