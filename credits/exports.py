"""Downloads of long lists (activity, usage) as CSV and Excel, in flat memory (B5, S6).

Rows come from an iterator (a selector's `.iterator()` in batches), never a list: a CSV is
streamed to the client as it is written; an Excel file is written by openpyxl in write-only
mode (one row in memory at a time) to a temporary file, which is then streamed.
"""

import csv
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

Row = Sequence[object]


class _Echo:
    """A file-like object whose write returns the text, for csv.writer to stream through."""

    def write(self, text: str) -> str:
        return text


def _plain(value: object) -> object:
    """Excel and CSV take naive dates: aware ones are shown in the active time zone."""
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def csv_response(filename: str, header: Row, rows: Iterable[Row]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # a byte-order mark, so spreadsheet programs read UTF-8
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_plain(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@dataclass
class Sheet:
    title: str
    header: Row
    rows: Iterable[Row]
    totals: Row | None = None  # a last line in bold


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _bold(sheet, values: Row) -> list[WriteOnlyCell]:
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=_plain(value))
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def write_xlsx(sheets: Iterable[Sheet], target) -> None:
    """Write the sheets to a file object, one row in memory at a time."""
    workbook = Workbook(write_only=True)
    for spec in sheets:
        sheet = workbook.create_sheet(title=spec.title[:31])
        sheet.append(_bold(sheet, spec.header))
        for row in spec.rows:
            sheet.append([_plain(value) for value in row])
        if spec.totals is not None:
            sheet.append(_bold(sheet, spec.totals))
    workbook.save(target)


def xlsx_response(filename: str, sheets: Iterable[Sheet]) -> FileResponse:
    # The temporary file is deleted when the response closes it, after the last byte is sent.
    target = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (the response closes it)
    write_xlsx(sheets, target)
    target.seek(0)
    return FileResponse(target, as_attachment=True, filename=filename, content_type=XLSX)
