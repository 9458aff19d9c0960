"""A report table: one description (columns and rows) drawn as an HTML table on the page and downloaded
as CSV or Excel for reports, so the file says exactly what the screen says.

Rates are fractions in the rows; the page shows them as percentages and a download as numbers of
percent (header marked "%"), which spreadsheets can sum and chart. CSV is UTF-8 with a byte-order mark,
so Excel opens Chinese text correctly.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pandas as pd
from dash import dcc, html

from citybrain.dashboard.i18n import t

FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "text"  # text, int, pct (a fraction), num (one decimal); mixed: the row's "kind" says


@dataclass(frozen=True)
class ReportTable:
    name: str  # file name stem and sheet name
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    row_classes: list[str] = field(default_factory=list)

    def html(self, table_id: str, empty: str = "") -> html.Table | html.Div:
        if not self.rows and empty:
            return html.Div(empty, className="report-empty", id=table_id)
        head = html.Thead(html.Tr([html.Th(c.header, className=f"col-{c.kind}") for c in self.columns]))
        body = []
        for i, row in enumerate(self.rows):
            css = self.row_classes[i] if i < len(self.row_classes) else ""
            body.append(
                html.Tr(
                    [
                        html.Td(_cell(c, row), className=f"col-{_kind(c, row)}", **{"data-col": c.key})
                        for c in self.columns
                    ],
                    className=css,
                )
            )
        return html.Table([head, html.Tbody(body)], id=table_id, className="report-table")

    def frame(self) -> pd.DataFrame:
        data = {}
        for c in self.columns:  # links export as their text
            values = [row.get(c.key) for row in self.rows]
            if c.kind == "pct":
                data[f"{c.header} (%)"] = [None if v is None else round(v * 100, 2) for v in values]
            elif c.kind == "mixed":  # a rate row as percent, a count as it is
                data[c.header] = [
                    None if v is None else round(v * 100, 2) if _kind(c, row) == "pct" else round(v, 2)
                    for v, row in zip(values, self.rows, strict=True)
                ]
            else:
                data[c.header] = values
        return pd.DataFrame(data)

    def download(self, fmt: str, stamp: str) -> dict:
        """What ``dcc.Download`` sends: the table as ``fmt`` (csv or xlsx)."""
        frame = self.frame()
        filename = f"{self.name}-{stamp}.{fmt}"
        if fmt == "csv":
            return dcc.send_bytes(frame.to_csv(index=False).encode("utf-8-sig"), filename)
        if fmt == "xlsx":
            buffer = io.BytesIO()
            with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
                frame.to_excel(writer, index=False, sheet_name=self.name[:31])
            return dcc.send_bytes(buffer.getvalue(), filename)
        raise ValueError(f"no export format {fmt!r}; choose one of {FORMATS}")


def _cell(column: Column, row: dict):
    """A cell's content: a link when the row carries ``<key>_href`` (a district's page), else the text."""
    text = show(row.get(column.key), _kind(column, row))
    href = row.get(f"{column.key}_href")
    return dcc.Link(text, href=href) if href else text


def _kind(column: Column, row: dict) -> str:
    """A mixed column's cell takes its row's kind, or the row's ``<key>_kind`` for that column alone."""
    if column.kind != "mixed":
        return column.kind
    return row.get(f"{column.key}_kind", row.get("kind", "text"))


def show(value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "num":
        return f"{value:,.1f}"
    return str(value)


def export_buttons(page: str, table: str, lang: str) -> html.Div:
    """CSV and Excel buttons for one table (pattern-matched ids: the page's one export callback)."""
    return html.Div(
        className="export-buttons",
        children=[
            html.Button(
                t(f"export_{fmt}", lang),
                id={"type": f"{page}-export", "table": table, "fmt": fmt},
                className=f"btn export export-{fmt}",
            )
            for fmt in FORMATS
        ],
    )


def leader_card(
    page: str, title: str, body_id: str, export: str | None, lang: str, extra_class: str = ""
) -> html.Section:
    """A titled card of a leader page whose body a callback fills, with CSV/Excel buttons for the table
    ``export`` (None: nothing to download)."""
    head = [html.H2(title, className="panel-title")]
    if export:
        head.append(export_buttons(page, export, lang))
    return html.Section(
        className=f"leader-card {extra_class}",
        children=[html.Div(head, className="section-head"), html.Div(id=body_id, className="table-box")],
    )
