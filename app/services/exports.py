"""Statistics exports: Excel (openpyxl) and CSV in UTF-8 with a BOM so that Excel reads the Chinese."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from app.services.statistics import Stats, StatsRow

HEADER = (
    "编码",
    "名称",
    "所属部门",
    "受理量",
    "办结量",
    "按时办结",
    "按时办结率",
    "提前办结",
    "提前办结率",
    "超期",
    "平均用时（工作日）",
    "补正件数",
    "补正率",
    "评价数",
    "满意率",
    "差评数",
    "差评整改率",
)
BOM = "\ufeff"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _cells(row: StatsRow) -> list[str | int]:
    return [
        row.code,
        row.name,
        row.department,
        row.received,
        row.closed,
        row.on_time,
        _percent(row.on_time_rate),
        row.early,
        _percent(row.early_rate),
        row.overdue,
        _days(row.average_days),
        row.supplemented,
        _percent(row.supplement_rate),
        row.evaluations,
        _percent(row.satisfaction_rate),
        row.bad,
        _percent(row.rectification_rate),
    ]


def _sections(stats: Stats) -> Iterator[tuple[str, list[StatsRow]]]:
    yield "按部门", [*stats.departments, stats.totals]
    yield "按事项", [*stats.items, stats.totals]


def stats_csv(stats: Stats) -> bytes:
    """Both tables (per department, then per item) in one CSV, UTF-8 with BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([f"统计期间 {stats.start.isoformat()} 至 {stats.end.isoformat()}"])
    for title, rows in _sections(stats):
        writer.writerow([title])
        writer.writerow(HEADER)
        writer.writerows(_cells(row) for row in rows)
    return (BOM + buffer.getvalue()).encode("utf-8")


def _sheet(sheet: Worksheet, stats: Stats, rows: list[StatsRow]) -> None:
    sheet.append([f"统计期间 {stats.start.isoformat()} 至 {stats.end.isoformat()}"])
    sheet.append(list(HEADER))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(_cells(row))
    sheet.freeze_panes = "A3"
    for letter, width in (("A", 14), ("B", 28), ("C", 16)):
        sheet.column_dimensions[letter].width = width


def stats_xlsx(stats: Stats) -> bytes:
    """An Excel workbook with one sheet per table (按部门, 按事项)."""
    workbook = Workbook()
    first = True
    for title, rows in _sections(stats):
        sheet = workbook.active if first else workbook.create_sheet()
        assert isinstance(sheet, Worksheet)
        sheet.title = title
        _sheet(sheet, stats, rows)
        first = False
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
