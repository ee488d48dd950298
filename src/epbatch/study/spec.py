"""Study files: YAML validated into pydantic models, with messages naming file and key."""

import os
import re
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from epbatch.run.runners.base import RunnerName

SURFACE_CLASSES = ("exterior_wall", "roof", "ground_floor", "window")
MAX_SLOTS = 256

# Names become folder names and IDF object names: letters, digits, dot, dash, underscore, space.
_NAME = r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$"
SafeName = Annotated[str, Field(pattern=_NAME)]
Positive = Annotated[float, Field(gt=0)]


class StudyError(ValueError):
    """An invalid study; each line names the file, the key and the problem."""

    def __init__(self, source: Path | str, problems: list[str]) -> None:
        self.source = str(source)
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Layer(_Strict):
    """One opaque layer: full properties (Material) or only a resistance (Material:NoMass)."""

    material: SafeName
    thickness: Positive | None = Field(default=None, le=3.0, description="m")
    conductivity: Positive | None = Field(default=None, le=100.0, description="W/m-K")
    density: Positive | None = Field(default=None, le=20000.0, description="kg/m3")
    specific_heat: Positive | None = Field(default=None, ge=100.0, le=10000.0, description="J/kg-K")
    thermal_resistance: Positive | None = Field(default=None, le=100.0, description="m2-K/W")
    roughness: Literal[
        "VeryRough", "Rough", "MediumRough", "MediumSmooth", "Smooth", "VerySmooth"
    ] = "MediumRough"

    @model_validator(mode="after")
    def _one_kind(self) -> "Layer":
        massive = (self.thickness, self.conductivity, self.density, self.specific_heat)
        if self.thermal_resistance is not None:
            if any(v is not None for v in massive):
                raise ValueError("give either thermal_resistance or the four material properties")
        elif any(v is None for v in massive):
            raise ValueError(
                "needs thickness, conductivity, density and specific_heat (or thermal_resistance)"
            )
        return self


class OpaqueConstruction(_Strict):
    layers: list[Layer] = Field(min_length=1, max_length=10, description="outside to inside")


class Glazing(_Strict):
    """A simple glazing system (WindowMaterial:SimpleGlazingSystem)."""

    u_factor: float = Field(gt=0.1, le=7.0, description="W/m2-K")
    shgc: float = Field(gt=0.0, lt=1.0)
    visible_transmittance: float | None = Field(default=None, gt=0.0, lt=1.0)


class ConstructionSet(_Strict):
    """Constructions per surface class; a class left out keeps the model's own."""

    exterior_wall: OpaqueConstruction | None = None
    roof: OpaqueConstruction | None = None
    ground_floor: OpaqueConstruction | None = None
    window: Glazing | None = None

    def classes(self) -> list[str]:
        return [c for c in SURFACE_CLASSES if getattr(self, c) is not None]


class DateRange(_Strict):
    """A custom run period, e.g. ``{start: 01-01, end: 01-14}`` (month-day)."""

    start: str = Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
    end: str = Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")

    @model_validator(mode="after")
    def _ordered(self) -> "DateRange":
        if self.end < self.start:
            raise ValueError("end is before start")
        return self

    def months_days(self) -> tuple[int, int, int, int]:
        sm, sd = (int(x) for x in self.start.split("-"))
        em, ed = (int(x) for x in self.end.split("-"))
        return sm, sd, em, ed


RunPeriod = Literal["annual", "design-days"] | DateRange

# An hourly series: a meter (its name has a colon, e.g. Electricity:Facility) or an output
# variable (e.g. Zone Mean Air Temperature, every key).
SERIES_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 :._-]{0,99}$"
SeriesName = Annotated[str, Field(pattern=SERIES_PATTERN)]
MAX_SERIES = 20


class Study(_Strict):
    """A parametric study: models x weather files x construction sets."""

    name: SafeName
    models: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    weather: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    run_period: RunPeriod = "annual"
    slots: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=MAX_SLOTS)
    timeout_s: float | None = Field(default=None, gt=0)
    runner: RunnerName | None = None
    failure_budget: float = Field(default=0.5, gt=0, le=1, description="failed share that stops")
    construction_sets: dict[SafeName, ConstructionSet] = Field(min_length=1)
    timeseries: list[SeriesName] = Field(default_factory=list, max_length=MAX_SERIES)

    @field_validator("timeseries")
    @classmethod
    def _distinct_series(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for name in value:
            if name.upper() in seen:  # EnergyPlus compares names case-insensitively
                raise ValueError(f"{name!r} is listed twice")
            seen.add(name.upper())
        return value

    @model_validator(mode="after")
    def _series_need_a_run_period(self) -> "Study":
        if self.timeseries and self.run_period == "design-days":
            raise ValueError(
                "timeseries: hourly series need a run period (annual or dates), not design-days"
            )
        return self

    @field_validator("construction_sets", mode="before")
    @classmethod
    def _none_is_baseline(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ({} if v is None else v) for k, v in value.items()}
        return value


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader (libyaml's where PyYAML has it: 10x faster) that rejects duplicate
    mapping keys instead of keeping the last."""


def _mapping_without_duplicates(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, Hashable):  # e.g. a list as a key: `? [1]`
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _mapping_without_duplicates,
)


_NAME_RULE = (
    "must start with a letter or digit and use only letters, digits, space, . _ - (64 at most)"
)
_SERIES_RULE = (
    "must be a meter (e.g. Electricity:Facility) or an output variable name (e.g. Zone Mean "
    "Air Temperature): letters, digits, space, : . _ - (100 at most)"
)
_RUN_PERIOD_RULE = "must be 'annual', 'design-days' or {start: MM-DD, end: MM-DD}"


def _message(error: Any) -> str:
    loc = [
        str(p)
        for p in error["loc"]
        if not re.fullmatch(r"literal\[.*\]|function-after\[.*\]|DateRange", str(p))
    ]
    if error["type"] == "extra_forbidden":
        text = "unknown key"
    elif error["type"] == "string_pattern_mismatch":
        text = {_NAME: _NAME_RULE, SERIES_PATTERN: _SERIES_RULE}.get(
            error["ctx"]["pattern"], "must be a date as MM-DD"
        )
    elif loc == ["run_period"] and error["type"] != "value_error":
        text = _RUN_PERIOD_RULE
    else:
        text = error["msg"].removeprefix("Value error, ")
    if loc and loc[-1] == "[key]":  # the key itself is wrong, e.g. a construction-set name
        loc.pop()
        text = f"name {loc.pop()!r} {text}"
    return f"{'.'.join(loc) or '(top level)'}: {text}"


def _messages(error: ValidationError) -> list[str]:
    # A mapping given for run_period was meant as a date range: skip the literal branch's error.
    errors = [
        e
        for e in error.errors()
        if not (e["type"] == "literal_error" and isinstance(e["input"], dict))
    ]
    return sorted({_message(e) for e in errors})


@dataclass(frozen=True)
class StudyFile:
    """A study file read and checked against the schema; its file lists are kept even when
    the schema check failed, so the files can be checked in the same pass."""

    path: Path
    study: Study | None  # None when ``problems`` is not empty
    problems: list[str]
    models: list[tuple[int, str]]  # (index, entry) of the entries that are strings
    weather: list[tuple[int, str]]

    def valid(self) -> Study:
        """The study, or a ``StudyError`` with the schema problems."""
        if self.study is None:
            raise StudyError(self.path, self.problems)
        return self.study


def _entries(data: dict[Any, Any], key: str) -> list[tuple[int, str]]:
    value = data.get(key)
    items = value if isinstance(value, list) else []
    return [(i, item) for i, item in enumerate(items) if isinstance(item, str) and item]


def check_study(data: Any, source: Path) -> StudyFile:
    """Validate already-loaded YAML data, keeping every problem."""
    if not isinstance(data, dict):
        return StudyFile(source, None, ["(top level): the study must be a mapping of keys"], [], [])
    try:
        study: Study | None = Study.model_validate(data)
        problems = []
    except ValidationError as error:
        study, problems = None, _messages(error)
    return StudyFile(source, study, problems, _entries(data, "models"), _entries(data, "weather"))


def parse_study(data: Any, source: Path | str = "<study>") -> Study:
    """Validate already-loaded YAML data; raise ``StudyError`` naming every problem."""
    return check_study(data, Path(source)).valid()


def read_study(path: Path) -> StudyFile:
    """Read a study YAML file and check it against the schema; raise ``StudyError`` only
    when it is not a YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise StudyError(path, [f"cannot read the study file: {error.strerror}"]) from None
    except UnicodeDecodeError as error:
        raise StudyError(path, [f"not UTF-8 text (byte {error.start}): not a study file"]) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise StudyError(path, [f"not valid YAML: {error}"]) from None
    except RecursionError:
        raise StudyError(path, ["not valid YAML: nested too deeply"]) from None
    return check_study(data, path)


def load_study(path: Path) -> Study:
    """Read and validate a study YAML file."""
    return read_study(path).valid()
