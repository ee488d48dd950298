"""Parameters: any IDD field of a model set to a sample's value, checked against the engine's
IDD and against each model, applied to the parsed eppy model and undone afterwards."""

import difflib
import fnmatch
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eppy.modeleditor import IDF

from epbatch.study.spec import Parameter, Study
from epbatch.variants.envelope import fold

Value = float | str


@dataclass(frozen=True)
class FieldSpec:
    """One IDD field: where it is in its object's values and what it accepts."""

    object: str  # as the IDD spells it
    field: str
    index: int  # in an eppy object's raw values (0: the object's key)
    kind: str  # real, integer, choice, alpha, object-list, ...
    keys: tuple[str, ...] = ()
    minimum: tuple[float, bool] | None = None  # (bound, exclusive)
    maximum: tuple[float, bool] | None = None
    auto: tuple[str, ...] = ()  # "AUTOSIZE" / "AUTOCALCULATE" where the IDD allows them

    @property
    def numeric(self) -> bool:
        return self.kind in ("real", "integer")

    def problem(self, value: Value) -> str | None:
        """Why ``value`` does not fit the field (``None`` when it does)."""
        where = f"{self.object} field {self.field!r}"
        if isinstance(value, str) and value.strip().upper() in self.auto:
            return None
        if self.numeric:
            if not isinstance(value, int | float):
                return f"{value!r} is not a number ({where} is {self.kind})"
            if self.kind == "integer" and float(value) != int(value):
                return f"{value:g} is not an integer ({where} is integer)"
            if self.minimum and (
                value < self.minimum[0] or (self.minimum[1] and value == self.minimum[0])
            ):
                relation = ">" if self.minimum[1] else ">="
                return f"{value:g} is out of range: {where} must be {relation} {self.minimum[0]:g}"
            if self.maximum and (
                value > self.maximum[0] or (self.maximum[1] and value == self.maximum[0])
            ):
                relation = "<" if self.maximum[1] else "<="
                return f"{value:g} is out of range: {where} must be {relation} {self.maximum[0]:g}"
            return None
        if self.kind == "choice":
            if fold(_text(value)) not in {fold(k) for k in self.keys}:
                return f"{_text(value)!r} is not one of the keys of {where}: {', '.join(self.keys)}"
            return None
        if not isinstance(value, str):
            return f"{value!r} is not a text ({where} is {self.kind})"
        return None


def _text(value: Value) -> str:
    return value if isinstance(value, str) else f"{value:g}"


def _folded(name: str) -> str:
    """A field or object name as compared: case, spaces and underscores aside."""
    return " ".join(name.replace("_", " ").split()).upper()


def _bound(info: dict[str, Any], name: str) -> tuple[float, bool] | None:
    for key, exclusive in ((name, False), (name + (">" if name == "minimum" else "<"), True)):
        if info.get(key):
            try:
                return float(info[key][0]), exclusive
            except ValueError:
                return None
    return None


_objects: dict[str, list[dict[str, Any]]] = {}  # folded object name -> IDD field list (one IDD)


def _idd_objects() -> dict[str, list[dict[str, Any]]]:
    if not _objects:
        for info in IDF.idd_info:
            _objects[_folded(info[0]["idfobj"])] = info
    return _objects


def _suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def field_spec(object_name: str, field_name: str) -> FieldSpec | str:
    """The IDD's field (eppy's IDD must be loaded), or why there is none."""
    objects = _idd_objects()
    info = objects.get(_folded(object_name))
    if info is None:
        names = [i[0]["idfobj"] for i in objects.values()]
        return f"unknown object type {object_name!r} in the engine's IDD" + _suggest(
            object_name, names
        )
    names = [f.get("field", [""])[0] for f in info[1:]]
    wanted = _folded(field_name)
    for index, name in enumerate(names, start=1):
        if _folded(name) == wanted:
            entry = info[index]
            auto = ("AUTOSIZE",) * ("autosizable" in entry) + ("AUTOCALCULATE",) * (
                "autocalculatable" in entry
            )
            return FieldSpec(
                info[0]["idfobj"],
                name,
                index,
                entry.get("type", ["alpha"])[0],
                tuple(entry.get("key", ())),
                _bound(entry, "minimum"),
                _bound(entry, "maximum"),
                auto,
            )
    return f"{info[0]['idfobj']} has no field {field_name!r}" + _suggest(field_name, names)


def _named(info: list[dict[str, Any]]) -> bool:
    return len(info) > 1 and _folded(info[1].get("field", [""])[0]) == "NAME"


@dataclass(frozen=True)
class Target:
    """A parameter resolved against the IDD: its field and companions."""

    key: str
    parameter: Parameter
    spec: FieldSpec
    also: tuple[tuple[FieldSpec, Value], ...]

    @property
    def object_key(self) -> str:
        return self.spec.object.upper()


def resolve(study: Study) -> tuple[list[Target], list[str]]:
    """Every parameter's fields found in the IDD, and the problems (one line each): unknown
    object types and fields, values of the wrong type, out of the IDD's range, not a key."""
    targets: list[Target] = []
    problems: list[str] = []
    for key, parameter in study.parameters.items():
        at = f"parameters.{key}"
        before = len(problems)
        spec = field_spec(parameter.set.object, parameter.set.field)
        if isinstance(spec, str):
            problems.append(f"{at}.set: {spec}")
            continue
        info = _idd_objects()[_folded(spec.object)]
        if parameter.set.name != "*" and not _named(info):
            problems.append(f"{at}.set.name: {spec.object} objects have no name to match")
        if parameter.is_scale and not spec.numeric:
            problems.append(f"{at}.scale: {spec.object} field {spec.field!r} is not a number")
        elif parameter.levels is not None and not parameter.is_scale:
            problems += [
                f"{at}.values.{i}: {p}"
                for i, v in enumerate(parameter.levels)
                if (p := spec.problem(v))
            ]
        elif parameter.bounds is not None and not parameter.is_scale:
            if not spec.numeric:
                problems.append(f"{at}.range: {spec.object} field {spec.field!r} is not a number")
            else:
                problems += [
                    f"{at}.range.{i}: {p}"
                    for i, v in enumerate(parameter.bounds)
                    if (p := spec.problem(v))
                ]
        also = []
        for name, value in parameter.set.also.items():
            companion = field_spec(spec.object, name)
            if isinstance(companion, str):
                problems.append(f"{at}.set.also: {companion}")
            elif problem := companion.problem(value):
                problems.append(f"{at}.set.also.{name}: {problem}")
            else:
                also.append((companion, value))
        if len(problems) == before:  # the models are checked against sound parameters only
            targets.append(Target(key, parameter, spec, tuple(also)))
    return targets, problems


def matching(idf: Any, target: Target) -> list[Any]:
    """The model's objects the parameter sets (type and name glob, ASCII case-insensitive)."""
    if target.object_key not in idf.idfobjects:
        return []
    objects = list(idf.idfobjects[target.object_key])
    pattern = fold(target.parameter.set.name)
    if pattern == "*":
        return objects
    return [
        o for o in objects if fnmatch.fnmatchcase(fold(o.obj[1] if len(o.obj) > 1 else ""), pattern)
    ]


def _number(raw: Any) -> float | None:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def model_problems(targets: list[Target], idf: Any, model: str) -> list[str]:
    """What a model makes of the parameters: no object matches; a scaled field without a
    number in the model, or whose scaled values leave the IDD's range."""
    problems = []
    for target in targets:
        at = f"parameters.{target.key}"
        found = matching(idf, target)
        name = target.parameter.set.name
        if not found:
            named = "" if name == "*" else f" named {name!r}"
            problems.append(f"{at}.set: model {model} has no {target.spec.object} object{named}")
            continue
        if not target.parameter.is_scale:
            continue
        factors = target.parameter.levels or list(target.parameter.bounds or ())
        for obj in found:
            raw = obj.obj[target.spec.index] if target.spec.index < len(obj.obj) else ""
            value = _number(raw)
            label = (
                f"{target.spec.object} {obj.obj[1]!r}" if len(obj.obj) > 1 else target.spec.object
            )
            if value is None:
                problems.append(
                    f"{at}.scale: model {model}: {label} has no number in "
                    f"{target.spec.field!r} to scale ({str(raw) or 'blank'})"
                )
                break
            out = [
                p for f in factors if (p := target.spec.problem(_scaled(target, value, float(f))))
            ]
            if out:
                problems.append(f"{at}.scale: model {model}: {label}: {out[0]}")
                break
    return problems


def _scaled(target: Target, value: float, factor: float) -> float:
    scaled = float(f"{value * factor:.12g}")  # no binary noise (885.7090603680001) in the IDF
    return float(round(scaled)) if target.spec.kind == "integer" else scaled


def _written(value: Value) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


@contextmanager
def parameters_applied(
    idf: Any, targets: list[Target], sample: Mapping[str, Value]
) -> Iterator[None]:
    """Set every parameter's field (and companions) to ``sample``'s value on each matching
    object for the duration of the block, then restore the model's own values (and the
    objects' lengths), so one parsed model serves every sample and construction set."""
    changed: list[tuple[list[Any], int, Any]] = []  # raw values, index, original
    lengths: list[tuple[list[Any], int]] = []

    def put(values: list[Any], index: int, value: Any) -> None:
        if index >= len(values):
            lengths.append((values, len(values)))
            values.extend([""] * (index + 1 - len(values)))
        changed.append((values, index, values[index]))
        values[index] = value

    try:
        for target in targets:
            value = sample[target.key]
            for obj in matching(idf, target):
                values = obj.obj
                if target.parameter.is_scale:
                    own = (
                        _number(values[target.spec.index])
                        if target.spec.index < len(values)
                        else None
                    )
                    if own is None:
                        raise ValueError(f"{target.spec.object} {values[1]!r}: no number to scale")
                    put(values, target.spec.index, _written(_scaled(target, own, float(value))))
                else:
                    put(values, target.spec.index, _written(value))
                for companion, fixed in target.also:
                    put(values, companion.index, _written(fixed))
        yield
    finally:
        for values, index, original in reversed(changed):
            values[index] = original
        for values, length in reversed(lengths):
            del values[length:]
