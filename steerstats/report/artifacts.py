"""What a report section returns: :class:`Table` and :class:`Figure`, and how they are written.

A table is written as ``NAME.csv`` (full precision), ``NAME.md`` (title, the SE note, the
interpretation line, then the table) and ``NAME.tex`` (booktabs; an estimate column ``x`` with an
``x_se`` column prints as ``x (se)``, and with an ``x_se_cluster`` column too as ``x (se) [se_cluster]``,
like the paper's tables). A figure is written as ``NAME.png`` and ``NAME.pdf``.
"""

from __future__ import annotations

import dataclasses
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from steerstats._io import atomic_write_bytes, atomic_write_text
from steerstats.steerability.design import se_stem

DIGITS = 3


@dataclass(frozen=True)
class Table:
    """A named result table with a one-line interpretation and a note on which SE it shows."""

    name: str
    frame: pd.DataFrame
    title: str
    interpretation: str
    se_note: str
    notes: tuple[str, ...] = ()
    #: estimate column -> stem of its SE columns (``stem_se``, ``stem_se_cluster``, ...);
    #: estimates not listed use their name without a trailing "_mean" as the stem
    se_stems: dict[str, str] = field(default_factory=dict)
    #: how the headline SE / interval was computed, over which clusters, at which level (tidy form)
    method: str = ""
    cluster: str = ""
    level: float = 0.95
    #: the table's ``method`` column says how each row was estimated (else such a column is a key)
    method_from_column: bool = False


@dataclass(frozen=True)
class Figure:
    """A matplotlib figure with a caption; ``rendered`` holds its file bytes by extension once
    :func:`render_figure` has drawn it (then ``figure`` is None)."""

    name: str
    figure: Any  # matplotlib.figure.Figure
    title: str
    caption: str
    rendered: dict[str, bytes] | None = None


@dataclass(frozen=True)
class PosteriorArtifact:
    """A Bayesian fit kept whole: arviz InferenceData, written as ``posterior/NAME.nc``."""

    name: str
    inference_data: Any


def format_value(value: Any, digits: int = DIGITS) -> str:
    """Numbers to fixed decimals (integers stay integers), missing values to an empty cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return str(int(value))
    if isinstance(value, float) or hasattr(value, "dtype"):
        try:
            return f"{float(value):.{digits}f}"
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def to_markdown(frame: pd.DataFrame, digits: int = DIGITS) -> str:
    """A GitHub-flavoured markdown table."""
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = [
        "| " + " | ".join(format_value(v, digits).replace("|", "\\|") for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows]) + "\n"


def _tex_escape(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"),
                 ("#", r"\#"), ("_", r"\_"), ("{", r"\{"), ("}", r"\}")):
        text = text.replace(a, b)
    return text


def tex_columns(frame: pd.DataFrame, stems: dict[str, str] | None = None) -> list[tuple[str, list[str]]]:
    """(header, [estimate, its ``_se``?, its ``_se_cluster``?]) per tex column: the two SEs fold
    into the estimate's cell; every other SE column (``_se_user``, ...) stays in csv/md only."""
    cols = list(frame.columns)
    folded: set[str] = set()
    groups = []
    for c in cols:
        stem = se_stem(c, stems)
        group = [c] + [f"{stem}{s}" for s in ("_se", "_se_cluster") if f"{stem}{s}" in cols]
        folded.update(group[1:])
        groups.append((c, group))
    se_like = {c for c in cols if "_se_" in c or c.endswith("_se")}
    return [(h, g) for h, g in groups if h not in folded and h not in se_like]


#: tables with more columns than this are scaled to the text width (``\resizebox``, graphicx)
WIDE_COLUMNS = 6


def tex_header(column: str) -> str:
    """A human-readable header: ``steering_error_median`` -> ``steering error median``."""
    return column.replace("_", " ")


def to_latex(table: Table, digits: int = DIGITS) -> str:
    r"""A ``table`` float (caption = title + SE note, ``\label{tab:NAME}``) around a booktabs
    tabular; estimates as ``x (se)`` or ``x (se) [se_cluster]``; wide tables resized to fit.
    Needs ``booktabs`` (and ``graphicx`` for wide tables) in the preamble."""
    groups = tex_columns(table.frame, table.se_stems)
    wide = len(groups) > WIDE_COLUMNS
    lines = [
        r"\begin{table}[htbp]",
        r"\centering",
        r"\caption{" + _tex_escape(table.title) + ". " + _tex_escape(table.se_note) + "}",
        r"\label{tab:" + table.name.replace("_", "-") + "}",
        *([r"\resizebox{\textwidth}{!}{%"] if wide else []),
        r"\begin{tabular}{" + "l" * 1 + "r" * (len(groups) - 1) + "}",
        r"\toprule",
        " & ".join(_tex_escape(tex_header(h)) for h, _ in groups) + r" \\",
        r"\midrule",
    ]
    for row in table.frame.to_dict("records"):  # keeps each column's own type (ints stay ints)
        cells = []
        for _, group in groups:
            text = format_value(row[group[0]], digits)
            if len(group) > 1 and text:
                se = format_value(row[group[1]], digits)
                if group[1].endswith("_se_cluster"):
                    text += f" [{se}]" if se else ""
                else:
                    text += f" ({se})" if se else ""
                    if len(group) > 2:
                        cl = format_value(row[group[2]], digits)
                        text += f" [{cl}]" if cl else ""
            cells.append(_tex_escape(text))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", *(["}"] if wide else []), r"\end{table}", ""]
    return "\n".join(lines)


def table_markdown(table: Table, digits: int = DIGITS) -> str:
    parts = [f"# {table.title}", "", table.interpretation, "", f"*Standard errors:* {table.se_note}", ""]
    parts += [f"- {note}" for note in table.notes]
    if table.notes:
        parts.append("")
    parts.append(to_markdown(table.frame, digits))
    return "\n".join(parts)


def write_table(table: Table, directory: Path) -> list[Path]:
    """Write NAME.csv, NAME.md and NAME.tex under ``directory``."""
    base = Path(directory) / table.name
    return [
        atomic_write_text(base.with_suffix(".csv"), table.frame.to_csv(index=False)),
        atomic_write_text(base.with_suffix(".md"), table_markdown(table)),
        atomic_write_text(base.with_suffix(".tex"), to_latex(table)),
    ]


#: the files of a figure, in order
FIGURE_FORMATS = ("png", "pdf")


def render_figure(figure: Figure) -> Figure:
    """The figure drawn to NAME.png / NAME.pdf bytes (150 dpi, tight box) and its matplotlib
    figure closed: a picklable artifact (e.g. to return from a worker process)."""
    import matplotlib.pyplot as plt

    if figure.rendered is not None:
        return figure
    rendered = {}
    for ext in FIGURE_FORMATS:
        buf = io.BytesIO()
        # a fixed creation date keeps the pdf bytes reproducible
        meta = {"CreationDate": None} if ext == "pdf" else {"Software": None}
        figure.figure.savefig(buf, format=ext, dpi=150, bbox_inches="tight", metadata=meta)
        rendered[ext] = buf.getvalue()
    plt.close(figure.figure)
    return dataclasses.replace(figure, figure=None, rendered=rendered)


def write_figure(figure: Figure, directory: Path) -> list[Path]:
    """Write NAME.png and NAME.pdf under ``directory`` (rendering the figure first if needed)."""
    rendered = render_figure(figure).rendered
    return [atomic_write_bytes(Path(directory) / f"{figure.name}.{ext}", rendered[ext]) for ext in FIGURE_FORMATS]
