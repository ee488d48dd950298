"""Bad input through ``epbatch run``: exit 2, a message naming file, key and problem, and nothing
started (no output folder, so no variant folder and no simulation)."""

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from epbatch.run.engine import Engine
from epbatch.study.inputs import check_inputs
from epbatch.study.spec import check_study
from epbatch.variants.idfcheck import engine_check
from tests.conftest import GOLDEN, INSULATED_WALL, MODELS, study_data
from tests.reliability.conftest import ONE_ZONE

pytestmark = pytest.mark.reliability

NAME_RULE = "must start with a letter or digit"
LAYER = {"material": "Board", "thickness": 0.1, "conductivity": 0.5, "density": 800}
LAYER |= {"specific_heat": 900}
PLAIN_MODELS = (
    "1ZoneUncontrolled.idf",
    "5ZoneAirCooled.idf",
    "RefBldgWarehouseNew2004_Chicago.idf",
)


def small_study(**overrides: Any) -> dict[str, Any]:
    """A valid, quick study (1ZoneUncontrolled, design days) with keys replaced."""
    data = study_data(
        models=[str(ONE_ZONE)],
        weather=[GOLDEN],
        run_period="design-days",
        construction_sets={"baseline": {}},
    )
    return data | overrides


def sets(**classes: Any) -> dict[str, Any]:
    return {"construction_sets": {"a": classes}}


def rejected(epbatch, study: Path, key: str, problem: str, tmp_path: Path) -> str:
    """Run the study; assert exit 2, a line ``<file>: <key>: ...<problem>...``, nothing started."""
    status, err = epbatch("run", str(study))
    assert isinstance(err, str)
    assert status == 2, err
    lines = [line for line in err.splitlines() if line.startswith(f"{study}: {key}: ")]
    assert any(problem in line for line in lines), err
    assert not (tmp_path / "out").exists(), "an output folder was made for an invalid study"
    return err


STUDY_DATA_CASES = [
    ("top-level-typo", {"weathr": [GOLDEN]}, "weathr", "unknown key"),
    (
        "nested-typo",
        sets(window={"u_factr": 1.0, "shgc": 0.5}),
        "construction_sets.a.window.u_factr",
        "unknown key",
    ),
    (
        "layer-typo",
        sets(roof={"layers": [{**LAYER, "thicknes": 0.1}]}),
        "construction_sets.a.roof.layers.0.thicknes",
        "unknown key",
    ),
    (
        "unknown-surface-class",
        sets(exterior_walls=INSULATED_WALL),
        "construction_sets.a.exterior_walls",
        "unknown key",
    ),
    *[
        (
            f"{field}-{value}",
            sets(exterior_wall={"layers": [LAYER | {field: value}]}),
            f"construction_sets.a.exterior_wall.layers.0.{field}",
            "greater than 0",
        )
        for field in ("thickness", "conductivity", "density")
        for value in (0, -0.1)
    ],
    *[
        (
            f"{field}-{value}",
            sets(window={"u_factor": 1.0, "shgc": 0.5} | {field: value}),
            f"construction_sets.a.window.{field}",
            problem,
        )
        for field, value, problem in [
            ("u_factor", 0, "greater than 0.1"),
            ("u_factor", -1.0, "greater than 0.1"),
            ("u_factor", 9.0, "less than or equal to 7"),
            ("shgc", 0, "greater than 0"),
            ("shgc", 1.0, "less than 1"),
            ("shgc", 1.5, "less than 1"),
            ("visible_transmittance", 1.2, "less than 1"),
        ]
    ],
    ("empty-models", {"models": []}, "models", "at least 1 item"),
    ("empty-weather", {"weather": []}, "weather", "at least 1 item"),
    ("empty-sets", {"construction_sets": {}}, "construction_sets", "at least 1 item"),
    ("slots-0", {"slots": 0}, "slots", "greater than or equal to 1"),
    ("slots-negative", {"slots": -4}, "slots", "greater than or equal to 1"),
    ("slots-absurd", {"slots": 100_000}, "slots", "less than or equal to 256"),
    ("slots-text", {"slots": "many"}, "slots", "valid integer"),
    ("timeout-0", {"timeout_s": 0}, "timeout_s", "greater than 0"),
    ("run-period", {"run_period": "yearly"}, "run_period", "must be 'annual'"),
    *[
        (f"study-name-{i}", {"name": name}, "name", NAME_RULE)
        for i, name in enumerate(
            ["../../x", "/tmp/abs", "..", "a/b", "x; rm -rf ~", "$(touch pwned)", "`id`", "a|b"]
        )
    ],
    *[
        (
            f"set-name-{i}",
            {"construction_sets": {name: {}}},
            "construction_sets",
            f"name {name!r} {NAME_RULE}",
        )
        for i, name in enumerate(["../../evil", "/etc/x", "a;b", "$(x)", ".hidden"])
    ],
    (
        "material-name",
        sets(roof={"layers": [LAYER | {"material": "../../m"}]}),
        "construction_sets.a.roof.layers.0.material",
        NAME_RULE,
    ),
]


@pytest.mark.parametrize(
    ("overrides", "key", "problem"),
    [case[1:] for case in STUDY_DATA_CASES],
    ids=[case[0] for case in STUDY_DATA_CASES],
)
def test_invalid_study_data(epbatch, write_study, tmp_path, overrides, key, problem):
    rejected(epbatch, write_study(small_study(**overrides)), key, problem, tmp_path)


STUDY_TEXT_CASES = [
    (
        "duplicate-set-names",
        f"name: s\nmodels: ['{ONE_ZONE}']\nweather: [{GOLDEN}]\n"
        "construction_sets:\n  baseline: {}\n  walls: {}\n  baseline: {}\n",
        "not valid YAML: duplicate key 'baseline'",
    ),
    ("not-yaml", "name: [unclosed\nmodels: {", "not valid YAML"),
    ("a-list", "- name: s\n- models: []\n", "(top level): the study must be a mapping"),
    ("empty-file", "", "(top level): the study must be a mapping"),
]


@pytest.mark.parametrize(
    ("text", "problem"),
    [case[1:] for case in STUDY_TEXT_CASES],
    ids=[case[0] for case in STUDY_TEXT_CASES],
)
def test_invalid_study_file(epbatch, tmp_path, text, problem):
    study = tmp_path / "study.yaml"
    study.write_text(text)
    status, err = epbatch("run", str(study))
    assert status == 2 and f"{study}: {problem}" in err, err
    assert not (tmp_path / "out").exists()


def test_study_file_missing_or_not_text(epbatch, tmp_path):
    status, err = epbatch("run", str(tmp_path / "nope.yaml"))
    assert status == 2 and f"{tmp_path / 'nope.yaml'}: cannot read the study file" in err
    binary = tmp_path / "study.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x01name: x")
    status, err = epbatch("run", str(binary))
    assert status == 2 and f"{binary}: not UTF-8 text" in err
    assert not (tmp_path / "out").exists()


def test_missing_model_and_weather_files(epbatch, write_study, tmp_path):
    study = write_study(
        small_study(models=["gone.idf", "none-*.idf"], weather=["nowhere.epw", GOLDEN])
    )
    rejected(epbatch, study, "models.0", f"model file not found: {tmp_path / 'gone.idf'}", tmp_path)
    err = rejected(epbatch, study, "models.1", "no file matches 'none-*.idf'", tmp_path)
    assert f"{study}: weather.0: weather file not found: {tmp_path / 'nowhere.epw'}" in err


def test_models_that_are_not_idf(epbatch, write_study, tmp_path):
    (tmp_path / "model.txt").write_text(ONE_ZONE.read_text(encoding="latin-1"))
    (tmp_path / "model.epJSON").write_text("{}")
    (tmp_path / "binary.idf").write_bytes(b"\x7fELF\0\0\0Version,25.2;")
    (tmp_path / "prose.idf").write_text("Dear colleague, the version you asked for is attached.")
    (tmp_path / "folder.idf").mkdir()
    names = ["model.txt", "model.epJSON", "binary.idf", "prose.idf", "folder*"]
    study = write_study(small_study(models=names))
    err = rejected(epbatch, study, "models.0", "not a model file (expected the .idf", tmp_path)
    assert f"models.1: {tmp_path / 'model.epJSON'}: not an epJSON model (no Version object)" in err
    assert f"models.2: {tmp_path / 'binary.idf'}: not an IDF file (binary content)" in err
    assert f"models.3: {tmp_path / 'prose.idf'}: not an IDF file (no Version object)" in err
    assert f"models.4: {tmp_path / 'folder.idf'}: not a file" in err


SYNTAX_CASES = [
    ("unknown-object", ("  Timestep,4;", "  TimeStepp,4;"), '"TimeStepp" is not a valid Object'),
    ("missing-semicolon", ("  Timestep,4;", "  Timestep,4"), 'Error parsing "Timestep"'),
    ("too-many-fields", ("  Timestep,4;", "  Timestep,4,6;"), "more field values than maximum"),
    ("not-a-number", ("  Timestep,4;", "  Timestep,four;"), 'input "four" not permitted'),
    ("out-of-range", ("  Timestep,4;", "  Timestep,0;"), "greater than or equal to 1"),
    ("bad-choice", ("    Suburbs,  ", "    Sububs,  "), "Sububs"),
]


@pytest.mark.parametrize(
    ("change", "problem"), [c[1:] for c in SYNTAX_CASES], ids=[c[0] for c in SYNTAX_CASES]
)
def test_idf_errors_the_engine_rejects(
    epbatch, write_study, broken_model, tmp_path, change, problem
):
    model = broken_model("broken.idf", *change)
    study = write_study(small_study(models=[str(model)]))
    err = rejected(epbatch, study, "models.0", "EnergyPlus rejects the model: ", tmp_path)
    assert problem in err and str(model) in err


def test_unterminated_and_truncated_models(epbatch, write_study, tmp_path):
    text = ONE_ZONE.read_text(encoding="latin-1")
    (tmp_path / "unterminated.idf").write_text(
        text + "\n  Output:Variable,*,Zone Mean Air Temperature,hourly\n", encoding="latin-1"
    )
    (tmp_path / "truncated.idf").write_text(text[:12000], encoding="latin-1")  # mid-object
    study = write_study(small_study(models=["unterminated.idf", "truncated.idf"]))
    err = rejected(epbatch, study, "models.0", "EnergyPlus rejects the model: ", tmp_path)
    assert '[Output:Variable 49][reporting_frequency] - "hourly' in err
    assert f"models.1: {tmp_path / 'truncated.idf'}: EnergyPlus rejects the model: " in err
    assert "Missing required property" in err


@pytest.mark.parametrize(
    ("version", "problem"),
    [
        (
            "9.4",
            "written for EnergyPlus 9.4, older than the engine (EnergyPlus 25.2.0): transition"
            " it to 25.2 first with the IDFVersionUpdater",
        ),
        ("25.1", "written for EnergyPlus 25.1, older than the engine"),
        ("abc", "Version 'abc' is not a version number"),
    ],
)
def test_unsupported_model_version(epbatch, write_study, broken_model, tmp_path, version, problem):
    model = broken_model("old.idf", "Version,26.2;", f"Version,{version};")
    rejected(epbatch, write_study(small_study(models=[str(model)])), "models.0", problem, tmp_path)


def test_newer_and_current_versions_are_accepted(engine: Engine, broken_model, tmp_path):
    """The rule: older than the engine's major.minor is rejected; same or newer is checked by
    the engine's input processor (the shared 26.2 models pass it, with a version warning)."""
    current = broken_model("current.idf", "Version,26.2;", "Version,25.2.0;")
    shared = [MODELS / m for m in PLAIN_MODELS]
    study = check_study(small_study(models=[str(p) for p in [*shared, current]]), tmp_path)
    assert len(check_inputs(study, engine, tmp_path / "cache").models) == 4


def test_a_passed_engine_check_is_remembered_across_processes(engine: Engine, tmp_path):
    """A re-run of a study does not re-check its unchanged models; a changed or failing one is
    checked again."""
    from epbatch.variants.idfcheck import _cached_check

    cache = tmp_path / "cache"
    model = tmp_path / "model.idf"
    model.write_bytes(ONE_ZONE.read_bytes())
    assert engine_check(model, engine, cache) is None
    assert len(list((cache / "checks").iterdir())) == 1
    _cached_check.cache_clear()  # as in a new process
    start = time.perf_counter()
    assert engine_check(model, engine, cache) is None
    assert time.perf_counter() - start < 0.2  # no engine started
    model.write_text(ONE_ZONE.read_text().replace("Timestep,4;", "Timestep,4;\nNotAnObject,1;"))
    problem = engine_check(model, engine, cache)
    assert problem and "NotAnObject" in problem.replace(" ", "")
    assert len(list((cache / "checks").iterdir())) == 1  # the failure is not remembered


def test_engine_check_cost_per_model(engine: Engine, tmp_path):
    """The input check is one `energyplus --convert-only` per model file (cached after)."""
    timings = {}
    for model in [MODELS / m for m in PLAIN_MODELS]:
        copy = tmp_path / model.name  # a new file, so nothing is cached
        copy.write_bytes(model.read_bytes())
        start = time.perf_counter()
        assert engine_check(copy, engine) is None
        timings[model.name] = time.perf_counter() - start
        start = time.perf_counter()
        assert engine_check(copy, engine) is None
        assert time.perf_counter() - start < 0.05  # cached per file version
    print("engine input check per model:", {k: round(v, 2) for k, v in timings.items()})
    assert max(timings.values()) < 5.0


def test_weather_files_missing_or_not_epw(epbatch, write_study, tmp_path):
    (tmp_path / "text.epw").write_text("date,temperature\n2020-01-01,3.5\n")
    (tmp_path / "binary.epw").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    study = write_study(small_study(weather=["gone.epw", "text.epw", "binary.epw"]))
    err = rejected(epbatch, study, "weather.0", "weather file not found", tmp_path)
    assert f"weather.1: {tmp_path / 'text.epw'}: not an EPW file" in err
    assert f"weather.2: {tmp_path / 'binary.epw'}: not an EPW file" in err


def test_bad_slots_option(epbatch, write_study, tmp_path):
    for slots in ("0", "-1", "100000"):
        status, err = epbatch("run", str(write_study(small_study())), "--slots", slots)
        assert status == 2 and "--slots: must be between 1 and 256" in err
    assert not (tmp_path / "out").exists()


def test_every_problem_is_listed_at_once(epbatch, write_study, broken_model, tmp_path):
    model = broken_model("broken.idf", "  Timestep,4;", "  TimeStepp,4;")
    study = write_study(small_study(models=[str(model), "gone.idf"], weather=["nowhere.epw"]))
    err = rejected(epbatch, study, "models.0", "not a valid Object Type", tmp_path)
    assert "models.1: model file not found" in err and "weather.0: weather file not found" in err


def test_a_real_process_exits_2_before_any_flow_run(write_study, broken_model, tmp_path):
    """Prefect may be loading in the background by then; no flow run has started."""
    model = broken_model("broken.idf", "  Timestep,4;", "  Timestep,4")
    study = write_study(small_study(models=[str(model)]))
    code = (
        "import os, sys; from epbatch.ops.cli import FLOW_STARTED, main; "
        "s = main(['--output-dir', sys.argv[2], 'run', sys.argv[1]]); "
        "print(s, FLOW_STARTED.is_set(), file=sys.stderr, flush=True); os._exit(s)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(study), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert f"{study}: models.0: {model}: EnergyPlus rejects the model" in done.stderr
    assert done.stderr.splitlines()[-1] == "2 False"  # no flow run started
    assert not (tmp_path / "out").exists()


@pytest.mark.prefect
def test_surface_class_missing_in_a_model_leaves_no_batch(
    epbatch, write_study, prefect_api, tmp_path
):
    """Found by the check before the flow (each model is parsed once: the flow's plan takes the
    check's parse): exit 2, no run, no batch folder."""
    study = write_study(
        small_study(
            models=[str(MODELS / "5ZoneAirCooled.idf"), str(ONE_ZONE)],
            construction_sets={"glazing": {"window": {"u_factor": 1.0, "shgc": 0.4}}},
        )
    )
    status, err = epbatch("run", str(study))
    assert status == 2, err
    assert (
        f"{study}: construction_sets.glazing.window: model {ONE_ZONE.resolve()} has no window"
        in err
    )
    assert list((tmp_path / "out").glob("*/*/variants")) == []
    assert list((tmp_path / "out").glob("*/*/*")) == []
