"""Load IDF models with eppy, prepare their outputs and run period, and write them fast."""

import functools
import io
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eppy import bunchhelpers
from eppy.modeleditor import IDF

from epbatch.settings import get_settings
from epbatch.study.spec import DateRange
from epbatch.variants.iddcache import load_idd, paused_gc

_idd_lock = threading.Lock()
# Tables every variant's eplusout.sql must hold (see sqlresults.py).
REQUIRED_REPORTS = ("AnnualBuildingUtilityPerformanceSummary",)


# eppy derives every object's field names from the IDD again for each object it reads (494,000
# calls for 5ZoneAirCooled, RefBldgWarehouse and two small models): a pure function of the
# IDD's field name, memoized. 5ZoneAirCooled parses in 0.48 -> 0.09 s of CPU, the warehouse in
# 0.30 -> 0.06 s.
bunchhelpers.makefieldname = functools.cache(bunchhelpers.makefieldname)


class ModelError(ValueError):
    """A model that eppy cannot read or that lacks what a study needs."""


def use_idd(idd: Path) -> None:
    """eppy keeps one IDD per process; load it once (from the cache when there)."""
    with _idd_lock:
        if IDF.getiddname() is None:
            load_idd(idd, get_settings().cache_dir)
        elif Path(IDF.getiddname()).resolve() != idd.resolve():  # a symlinked IDD is the same
            raise ModelError(f"eppy already uses {IDF.getiddname()}, not {idd}")


def load_model(path: Path, idd: Path) -> Any:
    """Parse ``path`` with eppy against the engine's IDD."""
    use_idd(idd)
    try:
        text = path.read_text(encoding="latin-1")
        with paused_gc():  # ~15 % of a large model's parse
            return IDF(io.StringIO(text))
    except Exception as error:  # eppy raises bare exceptions on malformed input
        raise ModelError(f"{path}: eppy cannot parse the model: {error}") from error


def model_version(idf: Any) -> str | None:
    versions = idf.idfobjects["VERSION"]
    return str(versions[0].Version_Identifier) if versions else None


def request_sql_output(idf: Any) -> None:
    """Ask for SQLite output with the tabular reports the results parser reads."""
    for obj in list(idf.idfobjects["OUTPUT:SQLITE"]):
        idf.removeidfobject(obj)
    idf.newidfobject(
        "OUTPUT:SQLITE", Option_Type="SimpleAndTabular", Unit_Conversion_for_Tabular_Data="JtoGJ"
    )
    reports = idf.idfobjects["OUTPUT:TABLE:SUMMARYREPORTS"]
    names = [str(v) for r in reports for v in r.obj[1:] if str(v).strip()]
    if "AllSummary" in names or all(r in names for r in REQUIRED_REPORTS):
        return
    for obj in list(reports):
        idf.removeidfobject(obj)
    summary = idf.newidfobject("OUTPUT:TABLE:SUMMARYREPORTS")
    for i, name in enumerate([*names, *REQUIRED_REPORTS], start=1):
        summary[f"Report_{i}_Name"] = name


def is_meter(name: str) -> bool:
    """Meter names have a colon (Electricity:Facility, InteriorLights:Electricity); output
    variable names never do."""
    return ":" in name


def request_timeseries(idf: Any, names: Sequence[str]) -> None:
    """Report each series hourly (into eplusout.sql): an ``Output:Meter`` for a meter, an
    ``Output:Variable`` for every key of a variable. The model's own hourly requests of the
    same series are left as they are (not asked twice)."""
    meters = {
        str(o.Key_Name).upper()
        for o in idf.idfobjects["OUTPUT:METER"]
        if str(o.Reporting_Frequency).lower() == "hourly"
    }
    variables = {
        str(o.Variable_Name).upper()
        for o in idf.idfobjects["OUTPUT:VARIABLE"]
        if str(o.Key_Value) == "*" and str(o.Reporting_Frequency).lower() == "hourly"
    }
    for name in names:
        if is_meter(name):
            if name.upper() not in meters:
                idf.newidfobject("OUTPUT:METER", Key_Name=name, Reporting_Frequency="Hourly")
        elif name.upper() not in variables:
            idf.newidfobject(
                "OUTPUT:VARIABLE", Key_Value="*", Variable_Name=name, Reporting_Frequency="Hourly"
            )


# Files the retention policy deletes as soon as a variant succeeds, so the engine need not write
# them (OutputControl:Files): time series (.eso/.mtr, also in eplusout.sql), the tabular
# reports' text formats (their values are in eplusout.sql), dictionaries, sizing, geometry
# and daylighting files. eplusout.sql/.err/.eio/.end/.audit and requested debug files stay.
UNKEPT_OUTPUT_FILES = frozenset(
    {
        "Output_CSV",
        "Output_MTR",
        "Output_ESO",
        "Output_Tabular",
        "Output_JSON",
        "Output_Space_Sizing",
        "Output_Zone_Sizing",
        "Output_System_Sizing",
        "Output_Plant_Component_Sizing",
        "Output_DXF",
        "Output_BND",
        "Output_RDD",
        "Output_MDD",
        "Output_MTD",
        "Output_SHD",
        "Output_DFS",
        "Output_GLHE",
        "Output_DelightIn",
        "Output_DelightELdmp",
        "Output_DelightDFdmp",
        "Output_SLN",
        "Output_SCI",
        "Output_WRL",
        "Output_ExtShd",
        "Output_Tarcog",
    }
)


def skip_unkept_outputs(idf: Any) -> None:
    """Ask the engine not to write the files retention would delete: on 1ZoneUncontrolled
    annual 2.03 s instead of 2.13 s and 27 MB written instead of 51 MB, same eplusout.sql
    results. A model's own OutputControl:Files is left as it is."""
    if "OUTPUTCONTROL:FILES" not in idf.idfobjects or idf.idfobjects["OUTPUTCONTROL:FILES"]:
        return  # an engine older than 9.5, or the model's own choice
    control = idf.newidfobject("OUTPUTCONTROL:FILES")
    for field in control.fieldnames[1:]:
        control[field] = "No" if field in UNKEPT_OUTPUT_FILES else "Yes"


def set_run_period(idf: Any, period: DateRange | None) -> None:
    """Simulate one weather-file run period, the whole year (``None``) or the given dates.

    Not ``energyplus -a``: that forces a full year whatever the RunPeriod says.
    Design-day simulations are switched off (sizing calculations still run).
    """
    controls = idf.idfobjects["SIMULATIONCONTROL"] or [idf.newidfobject("SIMULATIONCONTROL")]
    controls[0].Run_Simulation_for_Sizing_Periods = "No"
    controls[0].Run_Simulation_for_Weather_File_Run_Periods = "Yes"
    sm, sd, em, ed = period.months_days() if period else (1, 1, 12, 31)
    existing = list(idf.idfobjects["RUNPERIOD"])
    keep = existing[0] if existing else idf.newidfobject("RUNPERIOD", Name="epbatch")
    for obj in existing[1:]:
        idf.removeidfobject(obj)
    keep.Begin_Month, keep.Begin_Day_of_Month, keep.Begin_Year = sm, sd, ""
    keep.End_Month, keep.End_Day_of_Month, keep.End_Year = em, ed, ""


def idf_text(idf: Any) -> str:
    """Serialize an eppy model; eppy's own ``idfstr`` takes ~20 s on a 5-zone model."""
    chunks = []
    for objects in idf.idfobjects.values():
        for obj in objects:
            values = obj.obj
            while len(values) > 1 and values[-1] == "":
                values = values[:-1]
            fields = ",\n  ".join(str(v) for v in values)
            chunks.append(f"{fields};\n")
    return "\n".join(chunks)
