"""Study files: YAML validated into pydantic models, with messages naming file and key."""

import math
import os
import re
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from epbatch.results.records import RESULT_COLUMNS
from epbatch.run.runners.base import RunnerName

SURFACE_CLASSES = ("exterior_wall", "roof", "ground_floor", "window")
MAX_SLOTS = 256
MAX_VARIANTS = 100_000
SAMPLING_METHODS = ("grid", "lhs", "sobol", "random", "morris")
# Columns of the results table a parameter key may not take.
RESERVED_COLUMNS = frozenset([*RESULT_COLUMNS, "sample_id"])

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


# A parameter's key is a column of the results tables: an identifier.
_KEY = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
ParameterKey = Annotated[str, Field(pattern=_KEY)]


def _yes_no(value: Any) -> Any:
    """YAML reads ``Yes``/``No`` as booleans; EnergyPlus means its choice keys."""
    return ("Yes" if value else "No") if isinstance(value, bool) else value


# A number, or a choice key / object name.
Finite = Annotated[float, Field(allow_inf_nan=False)]
Level = Annotated[Finite | str, Field(union_mode="left_to_right"), BeforeValidator(_yes_no)]


class FieldTarget(_Strict):
    """Which field a parameter sets: on every object of ``object`` whose name matches
    ``name`` (a name or a glob, case-insensitive as EnergyPlus compares names)."""

    object: Annotated[str, Field(min_length=1, max_length=100)]
    field: Annotated[str, Field(min_length=1, max_length=200)]
    name: Annotated[str, Field(min_length=1, max_length=200)] = "*"
    also: dict[Annotated[str, Field(min_length=1, max_length=200)], Level] = Field(
        default_factory=dict, description="fixed companion fields of the same objects"
    )


def _ordered_pair(value: list[float] | None) -> list[float] | None:
    if value is not None and not value[0] < value[1]:
        raise ValueError(f"low ({value[0]:g}) must be below high ({value[1]:g})")
    return value


Pair = Annotated[list[Finite], Field(min_length=2, max_length=2)]


class Scale(_Strict):
    """Factors on the model's own value: a continuous ``range`` or discrete ``values``."""

    range: Pair | None = None
    values: list[Finite] | None = Field(default=None, min_length=1, max_length=1000)

    _range_ordered = field_validator("range")(lambda cls, v: _ordered_pair(v))

    @model_validator(mode="after")
    def _one_kind(self) -> "Scale":
        if (self.range is None) == (self.values is None):
            raise ValueError("give either range: [low, high] or values: [...]")
        return self


class Parameter(_Strict):
    """One model field varied: discrete ``values``, a continuous ``range``, or a ``scale``
    (factors on the model's own value, a ``[low, high]`` range or ``{values: [...]}``)."""

    set: FieldTarget
    values: list[Level] | None = Field(default=None, min_length=1, max_length=1000)
    range: Pair | None = None
    scale: Pair | Scale | None = None

    _range_ordered = field_validator("range")(lambda cls, v: _ordered_pair(v))

    @field_validator("scale", mode="after")
    @classmethod
    def _scale_range(cls, value: Any) -> Any:
        if isinstance(value, list):
            return Scale(range=_ordered_pair(value))
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> "Parameter":
        given = [k for k in ("values", "range", "scale") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of values, range or scale"
                + (f" (not {' and '.join(given)})" if given else "")
            )
        return self

    @property
    def levels(self) -> list[float | str] | None:
        """The discrete levels (values or scale factors), or ``None`` for a range."""
        if self.values is not None:
            return list(self.values)
        if isinstance(self.scale, Scale) and self.scale.values is not None:
            return list(self.scale.values)
        return None

    @property
    def bounds(self) -> tuple[float, float] | None:
        """The continuous range (of values or of scale factors), or ``None``."""
        pair = self.range or (self.scale.range if isinstance(self.scale, Scale) else None)
        return (pair[0], pair[1]) if pair else None

    @property
    def is_scale(self) -> bool:
        return self.scale is not None


class Sampling(_Strict):
    """How parameter samples are drawn: ``grid`` (every combination of the ``values``), or
    ``samples`` draws by ``lhs``, ``sobol`` (Saltelli's design on a scrambled Sobol sequence:
    samples x (parameters + 2) variants), ``random`` or ``morris`` (``samples`` trajectories:
    samples x (parameters + 1) variants), reproducible by ``seed``."""

    method: Literal["grid", "lhs", "sobol", "random", "morris"] = "grid"
    samples: int | None = Field(default=None, ge=1, le=MAX_VARIANTS, validate_default=True)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    levels: int = Field(default=4, ge=2, le=100, description="morris: grid levels per input")

    @field_validator("samples", mode="after")
    @classmethod
    def _samples_for_method(cls, value: int | None, info: ValidationInfo) -> int | None:
        method = info.data.get("method")
        if method is None:  # the method itself is wrong: said there
            return value
        if method != "grid" and value is None:
            raise ValueError(f"required for method {method}")
        if method == "sobol" and value is not None and value.bit_count() != 1:
            raise ValueError(
                f"sobol needs a power of 2 (e.g. {1 << value.bit_length()}), the Sobol "
                "sequence is balanced only then"
            )
        return value


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
    parameters: dict[ParameterKey, Parameter] = Field(default_factory=dict)
    sampling: Sampling | None = None
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
_KEY_RULE = "must be a column name: a letter or _, then letters, digits or _ (64 at most)"
_RUN_PERIOD_RULE = "must be 'annual', 'design-days' or {start: MM-DD, end: MM-DD}"


def _message(error: Any) -> str:
    loc = [
        str(p)
        for p in error["loc"]
        if not re.fullmatch(
            r"literal\[.*\]|function-after\[.*\]|DateRange|Scale|list\[float\]|float|str", str(p)
        )
    ]
    if error["type"] == "extra_forbidden":
        text = "unknown key"
    elif error["type"] == "string_pattern_mismatch":
        text = {_NAME: _NAME_RULE, SERIES_PATTERN: _SERIES_RULE, _KEY: _KEY_RULE}.get(
            error["ctx"]["pattern"], "must be a date as MM-DD"
        )
    elif {"float", "str"} & {str(p) for p in error["loc"]}:  # a Level: neither branch fits
        text = "must be a number or a text (a choice key, a name)"
    elif "scale" in loc and loc[-1] == "scale":
        text = "must be [low, high] factors or {range: [low, high]} or {values: [...]}"
    elif loc == ["run_period"] and error["type"] != "value_error":
        text = _RUN_PERIOD_RULE
    else:
        text = error["msg"].removeprefix("Value error, ")
    if loc and loc[-1] == "[key]":  # the key itself is wrong, e.g. a construction-set name
        loc.pop()
        text = f"name {loc.pop()!r} {text}"
    return f"{'.'.join(loc) or '(top level)'}: {text}"


def _other_branch(error: Any) -> bool:
    """An error of the union branch the input was not meant for: a scale given as a mapping
    is not a ``[low, high]`` list, and the other way round."""
    loc = [str(p) for p in error["loc"]]
    if "scale" not in loc:
        return False
    if isinstance(error["input"], dict):
        return "list[float]" in loc
    if isinstance(error["input"], list):
        return "Scale" in loc
    return False


def _messages(error: ValidationError) -> list[str]:
    # A mapping given for run_period was meant as a date range: skip the literal branch's error.
    errors = [
        e
        for e in error.errors()
        if not (e["type"] == "literal_error" and isinstance(e["input"], dict))
        and not _other_branch(e)
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


def sample_count(study: Study) -> int:
    """How many parameter samples the study's sampling draws (1 without parameters)."""
    if not study.parameters:
        return 1
    sampling = study.sampling or Sampling()
    if sampling.method == "grid":
        return math.prod(len(p.levels or ()) for p in study.parameters.values())
    samples, dims = sampling.samples or 0, len(study.parameters)
    return {"sobol": samples * (dims + 2), "morris": samples * (dims + 1)}.get(
        sampling.method, samples
    )


def variant_count_problem(study: Study, models: int, weather: int) -> str | None:
    """The line refusing a study of more than ``MAX_VARIANTS`` variants, if it is one."""
    samples = sample_count(study)
    total = models * weather * len(study.construction_sets) * samples
    if total <= MAX_VARIANTS:
        return None
    sets = len(study.construction_sets)
    return (
        f"parameters: the study would have {total:,} variants ({_n(models, 'model')} x "
        f"{_n(weather, 'weather file')} x {_n(sets, 'construction set')} x "
        f"{_n(samples, 'sample')}), more than {MAX_VARIANTS:,}"
    )


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


class _ParameterSections(BaseModel):
    """The ``parameters`` and ``sampling`` sections alone: checked further when the rest of
    the study has schema problems too (every problem at once)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    parameters: dict[ParameterKey, Parameter] = Field(default_factory=dict)
    sampling: Sampling | None = None


def parameter_problems(study: Study | _ParameterSections) -> list[str]:
    """What the schema alone cannot say about ``parameters`` and ``sampling``."""
    if not study.parameters:
        return ["sampling: there are no parameters to sample"] if study.sampling else []
    sampling = study.sampling or Sampling()
    problems = []
    targets: dict[tuple[str, str, str], str] = {}
    for key, parameter in study.parameters.items():
        if key in RESERVED_COLUMNS:
            problems.append(f"parameters.{key}: {key!r} is a column of the results table already")
        target = parameter.set
        at = (_folded(target.object), _folded(target.field), target.name.upper())
        if at in targets:
            problems.append(f"parameters.{key}.set: the same field as parameters.{targets[at]}")
        targets.setdefault(at, key)
        if any(_folded(f) == at[1] for f in target.also):
            problems.append(f"parameters.{key}.set.also: sets the parameter's own field")
        if sampling.method == "grid" and parameter.levels is None:
            kind = "scale" if parameter.is_scale else "range"
            problems.append(
                f"parameters.{key}.{kind}: grid sampling needs values (a range is for lhs, "
                "sobol, random or morris)"
            )
    return problems


def _folded(name: str) -> str:
    """A field or object name as compared: case, spaces and underscores aside."""
    return " ".join(name.replace("_", " ").split()).upper()


def check_study(data: Any, source: Path) -> StudyFile:
    """Validate already-loaded YAML data, keeping every problem."""
    if not isinstance(data, dict):
        return StudyFile(source, None, ["(top level): the study must be a mapping of keys"], [], [])
    models, weather = _entries(data, "models"), _entries(data, "weather")
    try:
        study: Study | None = Study.model_validate(data)
        problems = []
    except ValidationError as error:
        study, problems = None, _messages(error)
        try:  # the sections' own checks, when only other parts of the study are wrong
            sections = _ParameterSections.model_validate(data)
            problems = sorted(set(problems + parameter_problems(sections)))
        except ValidationError:
            pass  # their schema problems are among the study's
    if study is not None:  # each entry is one file at least: the count is a lower bound
        count = variant_count_problem(study, max(1, len(models)), max(1, len(weather)))
        problems = parameter_problems(study) + ([count] if count else [])
        study = None if problems else study
    return StudyFile(source, study, problems, models, weather)


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
