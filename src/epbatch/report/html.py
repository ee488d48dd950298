"""``report.html``: one self-contained page per batch folder (inline SVG charts, inline CSS, no
script, nothing fetched), built from the folder alone: ``results.parquet``, ``batch.json`` and,
for parameter studies, ``sensitivity.csv``.

Sections: summary, EUI per variant, savings against the ``baseline`` set of the same model and
weather, end uses, unmet hours, parameters and sensitivity (when the batch has them), failures,
and every variant's figures. ``report_markdown`` gives the Prefect UI's shorter version.
"""

import base64
import contextlib
import html
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from epbatch.report import charts
from epbatch.results.records import END_USES
from epbatch.results.sensitivity import COLUMNS as SENSITIVITY_COLUMNS
from epbatch.results.sensitivity import SENSITIVITY_FILE
from epbatch.variants.plan import BATCH_FILE

REPORT_FILE = "report.html"
RESULTS_FILE = "results.parquet"
BASELINE = "baseline"
# What the savings compare: label -> results column (GJ).
SAVINGS = {"site": "site_energy_gj", "heating": "heating_gj", "cooling": "cooling_gj"}
# Outputs a parameter study plots against each parameter, when present.
SCATTER_OUTPUTS = [
    "eui_mj_m2",
    "site_energy_gj",
    "heating_gj",
    "cooling_gj",
    "unmet_hours_heating",
    "unmet_hours_cooling",
]
MAX_SCATTER_PARAMETERS = 8
RESULT_TABLE_COLUMNS = [
    "variant_id",
    "status",
    "eui_mj_m2",
    "site_energy_gj",
    "heating_gj",
    "cooling_gj",
    "unmet_hours_heating",
    "unmet_hours_cooling",
    "peak_electricity_w",
    "peak_natural_gas_w",
    "runtime_s",
]
ARTIFACT_MAX_ROWS = 100  # of the savings table in the Prefect artifact (best first)
ARTIFACT_MAX_BYTES = 900_000  # the Prefect artifact: charts dropped before it grows past this


class ReportError(RuntimeError):
    """The folder has no results table to report on."""


@dataclass(frozen=True)
class ReportInputs:
    folder: Path
    frame: pd.DataFrame  # results.parquet
    info: dict[str, Any]  # batch.json as written (unknown keys kept, e.g. ``parameters``)
    sensitivity: pd.DataFrame | None
    sensitivity_problem: str | None = None

    @property
    def parameters(self) -> list[str]:
        """The batch's parameter names that are columns of the results table."""
        listed = self.info.get("parameters") or []
        if not isinstance(listed, list):
            return []
        return [str(p) for p in listed if str(p) in self.frame.columns]


@dataclass(frozen=True)
class Report:
    """What the page and the Prefect artifact both show, read and drawn once."""

    inputs: ReportInputs
    savings: pd.DataFrame | None  # ``savings_frame``
    eui_chart: str  # "" when no variant succeeded
    savings_chart: str  # "" when no variant has savings


def load_inputs(folder: Path) -> ReportInputs:
    """Read what the report shows from a batch folder; ``ReportError`` without results."""
    results = folder / RESULTS_FILE
    if not results.is_file():
        raise ReportError(f"{folder}: no {RESULTS_FILE} (the batch did not finish)")
    frame = pd.read_parquet(results)
    try:
        info = json.loads((folder / BATCH_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict):
        info = {}
    sensitivity, problem = None, None
    path = folder / SENSITIVITY_FILE
    if path.is_file():
        try:
            sensitivity = pd.read_csv(path)
            missing = [c for c in ("output", "parameter") if c not in sensitivity.columns]
            if missing:
                sensitivity, problem = None, f"{SENSITIVITY_FILE} has no column {missing}"
        except (OSError, ValueError) as error:
            problem = f"{SENSITIVITY_FILE} cannot be read: {error}"
    return ReportInputs(folder, frame, info, sensitivity, problem)


# --- numbers ---------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def fmt(value: Any, digits: int = 2) -> str:
    """How the report writes a value: floats with ``digits`` decimals, nothing for missing."""
    if _missing(value):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _stem(name: str) -> str:
    return Path(str(name)).stem


def _groups(frame: pd.DataFrame) -> list[str]:
    """Each row's model · weather."""
    pairs = zip(frame["model"], frame["weather"], strict=True)
    return [f"{_stem(model)} · {_stem(weather)}" for model, weather in pairs]


def _labels(frame: pd.DataFrame) -> list[str]:
    """A short label per row: the set, plus model and weather when the rows have several."""
    sets = [str(s) for s in frame["construction_set"]]
    if frame["model"].nunique() > 1 or frame["weather"].nunique() > 1:
        return [f"{s} · {g}" for s, g in zip(sets, _groups(frame), strict=True)]
    return sets


def succeeded(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["status"] == "succeeded"]


def savings_frame(frame: pd.DataFrame) -> pd.DataFrame | None:
    """Each variant against the ``baseline`` set of the same model and weather, for site
    energy, heating and cooling: ``<k>_savings_gj`` = baseline - variant (positive: saves) and
    ``<k>_savings_pct`` of the baseline's. ``None`` when the study has no ``baseline`` set.
    Variants whose baseline did not succeed get a ``note`` and no figures."""
    if not (frame["construction_set"] == BASELINE).any():
        return None
    base = frame[(frame["construction_set"] == BASELINE) & (frame["status"] == "succeeded")]
    by_group = {(r["model"], r["weather"]): r for r in base.to_dict("records")}
    rows = []
    for r in frame[frame["construction_set"] != BASELINE].to_dict("records"):
        b = by_group.get((r["model"], r["weather"]))
        row: dict[str, Any] = {
            "variant_id": r["variant_id"],
            "model": r["model"],
            "weather": r["weather"],
            "construction_set": r["construction_set"],
            "baseline_variant_id": None if b is None else b["variant_id"],
            "note": None,
        }
        if b is None:
            row["note"] = "no succeeded baseline for this model and weather"
        elif r["status"] != "succeeded":
            row["note"] = f"variant {r['status']}"
        for label, column in SAVINGS.items():
            row[f"{label}_baseline_gj"] = None if b is None else b[column]
            row[f"{label}_gj"] = r[column] if r["status"] == "succeeded" else None
            saving, percent = None, None
            reference: Any = None if b is None else b[column]
            if row["note"] is None and not _missing(reference) and not _missing(r[column]):
                saving = float(reference) - float(r[column])
                percent = 100.0 * saving / float(reference) if float(reference) else None
            row[f"{label}_savings_gj"] = saving
            row[f"{label}_savings_pct"] = percent
        rows.append(row)
    return pd.DataFrame(rows)


def design_days(frame: pd.DataFrame) -> bool:
    """Every succeeded variant has 0 site energy: a design-days run."""
    energy = pd.to_numeric(succeeded(frame)["site_energy_gj"], errors="coerce").fillna(0)
    return bool(len(energy)) and bool(energy.eq(0).all())


def end_use_columns(frame: pd.DataFrame) -> list[str]:
    """The end-use columns with energy in some succeeded variant."""
    done = succeeded(frame)
    return [
        c
        for c in END_USES
        if c in done.columns and pd.to_numeric(done[c], errors="coerce").fillna(0).abs().sum() > 0
    ]


# --- HTML pieces -----------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;
background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:32px 0 8px;border-bottom:2px solid #d9dee5}
section{background:#fff;border:1px solid #e1e5ea;border-radius:6px;padding:12px 18px;margin:16px 0}
table{border-collapse:collapse;font-size:12.5px;margin:8px 0;width:100%}
th,td{border-bottom:1px solid #e6e9ee;padding:3px 8px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f0f2f5;position:sticky;top:0}
.kpis{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.kpi{background:#f0f4fa;border-radius:6px;padding:8px 14px;min-width:110px}
.kpi b{display:block;font-size:20px} .kpi span{font-size:12px;color:#4a5565}
.bad{color:#b3261e} .good{color:#1b7a3a} .muted{color:#667085;font-size:12.5px}
.chart svg{max-width:100%;height:auto}
.err{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap}
nav a{margin-right:12px} .scroll{overflow-x:auto}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], numeric: set[str], cls: str = ""
) -> str:
    head = "".join(f'<th class="{"n" if c in numeric else ""}">{_e(c)}</th>' for c in columns)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{_e(fmt(v))}</td>' if c in numeric else f"<td>{_e(fmt(v))}</td>"
            for c, v in zip(columns, row, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _chart(svg: str) -> str:
    return f'<div class="chart">{svg}</div>'


def _left_out(n: int, limit: int, what: str) -> str:
    if n <= limit:
        return ""
    return (
        f'<p class="muted">The chart shows the first {limit} of {n} {what}; the table has all.</p>'
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(round(seconds), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min" if hours else f"{m} min {s:02d} s"


def summary_figures(inputs: ReportInputs) -> dict[str, Any]:
    """The summary's numbers (also for tests and the Prefect artifact)."""
    frame, info = inputs.frame, inputs.info
    status = frame["status"]
    cached = frame["cached_from"].notna() & (status == "succeeded")
    wall = None
    with contextlib.suppress(KeyError, TypeError, ValueError):
        wall = (
            datetime.fromisoformat(info["finished_at"]) - datetime.fromisoformat(info["started_at"])
        ).total_seconds()
    ran = frame[~cached & status.isin(["succeeded", "failed"])]
    return {
        "variants": len(frame),
        "succeeded": int((status == "succeeded").sum()),
        "failed": int((status == "failed").sum()),
        "skipped": int((status == "skipped").sum()),
        "cached": int(cached.sum()),
        "wall_time_s": wall,
        "engine_time_s": float(ran["runtime_s"].fillna(0).sum()),
        "cached_engine_time_s": float(frame.loc[cached, "runtime_s"].fillna(0).sum()),
        "study_file": info.get("study_file"),
    }


def _summary(inputs: ReportInputs) -> str:
    s = summary_figures(inputs)
    info = inputs.info
    kpis = [
        ("variants", s["variants"], ""),
        ("succeeded", s["succeeded"], "good"),
        ("failed", s["failed"], "bad" if s["failed"] else ""),
        ("cached", s["cached"], ""),
        ("wall time", _duration(s["wall_time_s"]), ""),
        ("engine time", _duration(s["engine_time_s"]), ""),
    ]
    if s["skipped"]:
        kpis.insert(3, ("skipped", s["skipped"], "bad"))
    boxes = "".join(
        f'<div class="kpi" id="kpi-{_e(k.replace(" ", "-"))}"><b class="{c}">{_e(v)}</b>'
        f"<span>{_e(k)}</span></div>"
        for k, v, c in kpis
    )
    facts = [
        ("study file", s["study_file"] or "n/a"),
        ("study", info.get("study_name", "n/a")),
        ("batch folder", info.get("folder", str(inputs.folder))),
        ("EnergyPlus", info.get("engine_version", "n/a")),
        ("started", info.get("started_at", "n/a")),
        ("finished", info.get("finished_at") or "not recorded"),
        (
            "engine time",
            f"{s['engine_time_s']:.1f} s summed over the variants simulated in this batch"
            + (
                f" (the {s['cached']} cached variants took {s['cached_engine_time_s']:.1f} s "
                "in the batches that made them)"
                if s["cached"]
                else ""
            ),
        ),
    ]
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts)
    notes = info.get("notes") or []
    note_list = (
        "<p>Notes:</p><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>" if notes else ""
    )
    design = ""
    if design_days(inputs.frame):
        design = (
            '<p class="muted">Every site energy is 0: a design-days run (its figures are the '
            "design loads in the results table).</p>"
        )
    return (
        f'<section id="summary"><h2>Summary</h2><div class="kpis">{boxes}</div>'
        f"<table>{rows}</table>{note_list}{design}</section>"
    )


def _with_groups(frame: pd.DataFrame) -> pd.DataFrame:
    """The succeeded variants, each with its ``group`` (model · weather)."""
    done = succeeded(frame).copy()
    done["group"] = _groups(done)
    return done


def _eui_measure(inputs: ReportInputs, done: pd.DataFrame) -> tuple[str, str, str]:
    """What the EUI chart shows: its column, axis label and description."""
    if design_days(inputs.frame) and done["design_heating_kw"].notna().any():
        return (
            "design_heating_kw",
            "zones' design heating load, kW (sizing)",
            "A design-days run has no annual energy: the zones' design heating loads",
        )
    return "eui_mj_m2", "EUI, MJ/m² (site)", "Site energy per total building area"


def _eui_chart(inputs: ReportInputs) -> str:
    """The EUI chart ("" when no variant succeeded)."""
    done = _with_groups(inputs.frame)
    if done.empty:
        return ""
    value, axis, _ = _eui_measure(inputs, done)
    return charts.grouped_bars(done, "group", "construction_set", value, axis, "eui")


def _eui(report: Report) -> str:
    done = _with_groups(report.inputs.frame)
    if done.empty:
        return '<section id="eui"><h2>EUI per variant</h2><p>No variant succeeded.</p></section>'
    _, _, what = _eui_measure(report.inputs, done)
    n_groups = done["group"].nunique()
    return (
        '<section id="eui"><h2>EUI per variant</h2>'
        f'<p class="muted">{_e(what)}, grouped by model and weather, '
        "one bar per construction set.</p>"
        f"{_chart(report.eui_chart)}"
        f"{_left_out(n_groups, charts.MAX_GROUPS, 'model x weather groups')}"
        "</section>"
    )


def _ranked(savings: pd.DataFrame) -> pd.DataFrame:
    """The variants with savings, most site energy saved first."""
    return savings[savings["note"].isna()].sort_values("site_savings_gj", ascending=False)


def _savings_chart(savings: pd.DataFrame | None) -> str:
    """The savings chart, in % ("" when no variant has savings)."""
    valid = _ranked(savings) if savings is not None else None
    if valid is None or valid.empty:
        return ""
    return charts.multi_bars(
        _labels(valid),
        {k: valid[f"{k}_savings_pct"].tolist() for k in SAVINGS},
        "savings against the baseline, % (positive: less energy)",
        "savings",
    )


def _savings(report: Report) -> str:
    savings = report.savings
    title = '<section id="savings"><h2>Savings against the baseline</h2>'
    if savings is None:
        return (
            f"{title}<p>This study has no <code>baseline</code> construction set, so there is "
            "nothing to compute savings against. Name the reference set <code>baseline</code> "
            "(e.g. <code>baseline: {}</code>, the model as it is) to get this section.</p>"
            "</section>"
        )
    if savings.empty:
        return f"{title}<p>The study has only the <code>baseline</code> set.</p></section>"
    valid = _ranked(savings)
    chart = ""
    if report.savings_chart:
        chart = _chart(report.savings_chart) + _left_out(len(valid), charts.MAX_BARS, "variants")
    columns = ["variant_id", "baseline_variant_id", "site_baseline_gj", "site_gj"]
    for k in SAVINGS:
        columns += [f"{k}_savings_gj", f"{k}_savings_pct"]
    columns.append("note")
    ordered = pd.concat([valid, savings[savings["note"].notna()]])
    table = _table(
        columns,
        ordered[columns].itertuples(index=False, name=None),
        {c for c in columns if c.endswith(("_gj", "_pct"))},
        "savings",
    )
    return (
        f"{title}<p class='muted'>Each variant against the <code>baseline</code> set of the same "
        "model and weather: savings = baseline - variant, in GJ and in % of the baseline; "
        "positive means less energy. Sorted by site energy saved.</p>"
        f"{chart}{table}</section>"
    )


def _end_uses(inputs: ReportInputs) -> str:
    done = succeeded(inputs.frame)
    columns = end_use_columns(inputs.frame)
    title = '<section id="end-uses"><h2>End uses</h2>'
    if done.empty or not columns:
        return f"{title}<p>No end-use figures (no variant succeeded, or all are 0).</p></section>"
    names = {c: END_USES[c].lower() for c in columns}
    svg = charts.stacked_bars(
        _labels(done),
        {names[c]: pd.to_numeric(done[c], errors="coerce").fillna(0).tolist() for c in columns},
        "annual end use, GJ (every fuel)",
        "end-uses",
    )
    table = _table(
        ["variant_id", *columns],
        done[["variant_id", *columns]].itertuples(index=False, name=None),
        set(columns),
        "end-uses",
    )
    return (
        f"{title}<p class='muted'>From the annual end-use table of eplusout.sql "
        "(AnnualBuildingUtilityPerformanceSummary, End Uses), every fuel summed, GJ.</p>"
        f"{_chart(svg)}{_left_out(len(done), charts.MAX_BARS, 'variants')}{table}</section>"
    )


def _unmet(inputs: ReportInputs) -> str:
    done = succeeded(inputs.frame)
    title = '<section id="unmet"><h2>Unmet hours</h2>'
    if done.empty:
        return f"{title}<p>No variant succeeded.</p></section>"
    svg = charts.multi_bars(
        _labels(done),
        {
            "heating": done["unmet_hours_heating"].fillna(0).tolist(),
            "cooling": done["unmet_hours_cooling"].fillna(0).tolist(),
        },
        "occupied hours with the setpoint not met",
        "unmet",
    )
    return (
        f"{title}<p class='muted'>The comfort check beside the savings: occupied hours when the "
        "zones' heating or cooling setpoint was not met (facility).</p>"
        f"{_chart(svg)}{_left_out(len(done), charts.MAX_BARS, 'variants')}</section>"
    )


def _parameters(inputs: ReportInputs) -> str:
    parameters = inputs.parameters[:MAX_SCATTER_PARAMETERS]
    if not parameters and inputs.sensitivity is None and inputs.sensitivity_problem is None:
        return ""
    parts = ['<section id="parameters"><h2>Parameters and sensitivity</h2>']
    done = succeeded(inputs.frame)
    outputs = [c for c in SCATTER_OUTPUTS if c in done.columns and done[c].notna().any()]
    if parameters and outputs and not done.empty:
        parts.append(
            "<p class='muted'>Each output against each parameter, one point per succeeded "
            "variant.</p>" + _chart(charts.scatter_grid(done, outputs, parameters, "scatter"))
        )
        if len(inputs.parameters) > len(parameters):
            parts.append(
                f"<p class='muted'>The first {len(parameters)} of {len(inputs.parameters)} "
                "parameters are plotted.</p>"
            )
    if inputs.sensitivity_problem:
        parts.append(f"<p class='bad'>{_e(inputs.sensitivity_problem)}</p>")
    if inputs.sensitivity is not None:
        table = inputs.sensitivity
        columns = [c for c in SENSITIVITY_COLUMNS if c in table.columns]
        if "rank" in table.columns:
            table = table.sort_values(["output", "rank"], kind="stable")
        measure = next(
            (m for m in ("ST", "mu_star") if m in table.columns and table[m].notna().any()), None
        )
        if measure is not None:
            wide = table.pivot_table(index="parameter", columns="output", values=measure)
            wide = wide / wide.abs().max().replace(0, 1)
            wide = wide.loc[wide.max(axis=1).sort_values(ascending=False).index]
            parts.append(
                f"<p class='muted'>Sensitivity ranking ({_e(measure)}, scaled to the most "
                "influential parameter of each output):</p>"
                + _chart(
                    charts.multi_bars(
                        [str(p) for p in wide.index],
                        {str(o): wide[o].fillna(0).tolist() for o in wide.columns},
                        f"relative {measure}",
                        "sensitivity",
                    )
                )
            )
        parts.append(
            _table(
                columns,
                table[columns].itertuples(index=False, name=None),
                {c for c in columns if c not in ("output", "parameter", "method", "rank")},
                "sensitivity",
            )
        )
    parts.append("</section>")
    return "".join(parts)


def _failures(inputs: ReportInputs) -> str:
    bad = inputs.frame[inputs.frame["status"] != "succeeded"]
    title = '<section id="failures"><h2>Failures</h2>'
    if bad.empty:
        return f"{title}<p class='good'>No variant failed.</p></section>"
    rows = []
    for r in bad.to_dict("records"):
        code = "" if _missing(r["exit_code"]) else int(r["exit_code"])
        rows.append(
            f"<tr><td>{_e(r['variant_id'])}</td><td class='bad'>{_e(r['status'])}</td>"
            f"<td class='n'>{_e(code)}</td><td class='n'>{_e(fmt(r['severe_errors']))}</td>"
            f"<td class='err'>{_e(r['error'] or 'no message')}</td></tr>"
        )
    return (
        f"{title}<p class='muted'>Each variant that did not succeed, with the fatal and severe "
        "messages parsed from its eplusout.err (its folder keeps every output).</p>"
        "<table class='failures'><thead><tr><th>variant_id</th><th>status</th>"
        "<th class='n'>exit code</th><th class='n'>severe</th><th>message</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _results(inputs: ReportInputs) -> str:
    frame = inputs.frame
    columns = [
        c
        for c in RESULT_TABLE_COLUMNS
        if c in frame.columns and (not c.startswith("peak_") or frame[c].notna().any())
    ]
    if design_days(frame):
        columns[2:2] = ["design_heating_kw", "design_cooling_kw"]
    columns += [p for p in inputs.parameters if p not in columns]
    numeric = {c for c in columns if c not in ("variant_id", "status")}
    return (
        '<section id="results"><h2>Every variant</h2><p class="muted">From results.parquet '
        "(results.csv and the database have every column).</p>"
        + _table(columns, frame[columns].itertuples(index=False, name=None), numeric, "results")
        + "</section>"
    )


def build_report(folder: Path) -> Report:
    """Read the batch folder (``ReportError`` without results) and draw the shared charts."""
    inputs = load_inputs(folder)
    savings = savings_frame(inputs.frame)
    return Report(inputs, savings, _eui_chart(inputs), _savings_chart(savings))


def render(report: Report) -> str:
    """The whole page."""
    inputs = report.inputs
    sections = [
        _summary(inputs),
        _eui(report),
        _savings(report),
        _end_uses(inputs),
        _unmet(inputs),
        _parameters(inputs),
        _failures(inputs),
        _results(inputs),
    ]
    batch = inputs.info.get("batch_id", inputs.folder.name)
    links = [
        ("summary", "Summary"),
        ("eui", "EUI"),
        ("savings", "Savings"),
        ("end-uses", "End uses"),
        ("unmet", "Unmet hours"),
        ("parameters", "Parameters"),
        ("failures", "Failures"),
        ("results", "Every variant"),
    ]
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in links if f'id="{a}"' in "".join(sections))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>epbatch report: {_e(batch)}</title><style>{_CSS}</style></head>"
        f"<body><main><h1>Batch {_e(batch)}</h1>"
        f'<p class="muted">epbatch report of study {_e(inputs.info.get("study_name", ""))}</p>'
        f"<nav>{nav}</nav>{''.join(sections)}</main></body></html>\n"
    )


# The last report written, with the state of the files it was read from: the flow asks for the
# Prefect artifact right after writing report.html, in the same process, and gets it without
# reading the folder and drawing the charts again.
_written: tuple[tuple[object, ...], Report] | None = None


def _sources(folder: Path) -> tuple[object, ...]:
    """The report's input files as they are now: path, size and modification time of each."""
    state: list[object] = []
    for name in (RESULTS_FILE, BATCH_FILE, SENSITIVITY_FILE):
        path = (folder / name).absolute()
        try:
            stat = path.stat()
        except OSError:
            state.append(path)
        else:
            state.append((path, stat.st_size, stat.st_mtime_ns))
    return tuple(state)


def write_report(folder: Path) -> Path:
    """Write ``<folder>/report.html`` (atomically) from the folder's saved results."""
    global _written
    sources = _sources(folder)
    report = build_report(folder)
    path = folder / REPORT_FILE
    partial = path.with_suffix(".html.partial")
    partial.write_text(render(report), encoding="utf-8")
    partial.replace(path)
    _written = (sources, report)
    return path


def _report(folder: Path) -> Report:
    """The report just written for ``folder`` if its inputs are unchanged, else a new one."""
    written = _written
    if written is not None and written[0] == _sources(folder):
        return written[1]
    return build_report(folder)


# --- the Prefect UI's version ------------------------------------------------------------------


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def _md(value: Any) -> str:
    return fmt(value).replace("|", "\\|")


def report_markdown(folder: Path, max_bytes: int = ARTIFACT_MAX_BYTES) -> str:
    """The key charts (EUI, savings; SVG as data URIs) and the savings table, in markdown,
    within ``max_bytes`` (charts are dropped first, then table rows)."""
    report = _report(folder)
    s = summary_figures(report.inputs)
    head = [
        f"### Batch report: {s['succeeded']} of {s['variants']} variants succeeded, "
        f"{s['failed']} failed, {s['cached']} cached; wall time {_duration(s['wall_time_s'])}, "
        f"engine time {_duration(s['engine_time_s'])}",
        f"Full report: `{folder / REPORT_FILE}`",
    ]
    images = []
    if report.eui_chart:
        images.append(f"![EUI per variant]({_data_uri(report.eui_chart)})")
    if report.savings_chart:
        images.append(f"![Savings against the baseline]({_data_uri(report.savings_chart)})")
    savings = report.savings
    table: list[str] = []
    if savings is None:
        table.append("No `baseline` construction set in this study: no savings.")
    elif not savings.empty:
        table.append(
            "| variant | site GJ saved | site % | heating GJ saved | heating % | cooling GJ saved "
            "| cooling % | note |"
        )
        table.append("|---|---:|---:|---:|---:|---:|---:|---|")
        ordered = pd.concat([_ranked(savings), savings[savings["note"].notna()]])
        for r in ordered.head(ARTIFACT_MAX_ROWS).to_dict("records"):
            table.append(
                f"| {_md(r['variant_id'])} | {_md(r['site_savings_gj'])} | "
                f"{_md(r['site_savings_pct'])} | {_md(r['heating_savings_gj'])} | "
                f"{_md(r['heating_savings_pct'])} | {_md(r['cooling_savings_gj'])} | "
                f"{_md(r['cooling_savings_pct'])} | {_md(r['note'])} |"
            )
        if len(ordered) > ARTIFACT_MAX_ROWS:
            table.append(
                f"| {len(ordered) - ARTIFACT_MAX_ROWS} more variants: see report.html "
                "| | | | | | | |"
            )

    def joined(imgs: list[str], rows: list[str]) -> str:
        return "\n\n".join([*head, *imgs, "\n".join(rows)]) + "\n"

    text = joined(images, table)
    while len(text.encode()) > max_bytes and images:
        images.pop()
        text = joined(images, table)
    while len(text.encode()) > max_bytes and len(table) > 3:
        table = [*table[:-2], "| … | | | | | | | rows left out: see report.html |"]
        text = joined(images, table)
    return text
