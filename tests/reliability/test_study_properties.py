"""Property-based: whatever study data arrives, validation ends in a valid study or a clean
``StudyError`` (and the CLI in exit 0 or 2), never in another exception. No engine runs: the
CLI's batch start is replaced, and the one valid model's input check is cached."""

import contextlib
import io
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from epbatch.ops import cli
from epbatch.settings import get_settings
from epbatch.study.spec import Study, StudyError, load_study, parse_study
from tests.conftest import GOLDEN, INSULATED_WALL, TRIPLE_GLAZING
from tests.reliability.conftest import ONE_ZONE

pytestmark = pytest.mark.reliability

FAST = settings(
    max_examples=200,
    deadline=None,
    database=None,  # nothing written to .hypothesis/
    suppress_health_check=[HealthCheck.too_slow],
)

VALID: dict[str, Any] = {
    "name": "prop-study",
    "models": [str(ONE_ZONE)],
    "weather": [GOLDEN],
    "run_period": "design-days",
    "slots": 2,
    "timeout_s": 60,
    "construction_sets": {
        "baseline": {},
        "walls": {"exterior_wall": INSULATED_WALL},
        "roof": {"roof": {"layers": [{"material": "Board", "thermal_resistance": 4.0}]}},
        "glass": {"window": TRIPLE_GLAZING},
    },
}

# Values YAML can carry, and the keys and words a study uses (so mutations hit real branches).
WORDS = [
    *VALID,
    *VALID["construction_sets"],
    "exterior_wall",
    "ground_floor",
    "window",
    "layers",
    "material",
    "thickness",
    "conductivity",
    "density",
    "specific_heat",
    "thermal_resistance",
    "u_factor",
    "shgc",
    "visible_transmittance",
    "roughness",
    "start",
    "end",
    "annual",
    "01-01",
    "12-31",
    "13-40",
    "local",
    "docker",
    "../../x",
    "/abs",
    "$(id)",
    "",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(WORDS)
    | st.text(max_size=20)
)
yaml_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(WORDS) | st.text(max_size=8) | st.integers(), inner, max_size=4
        )
    ),
    max_leaves=20,
)


def outcome(data: Any) -> Study | StudyError:
    try:
        return parse_study(data, "prop.yaml")
    except StudyError as error:
        assert error.problems and all(p and isinstance(p, str) for p in error.problems)
        return error


@FAST
@given(yaml_values)
def test_any_yaml_data_gives_a_study_or_a_study_error(data):
    outcome(data)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside nested dicts and lists."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += paths(item, (*prefix, i))
    return found


def mutate(data: Any, path: tuple[Any, ...], how: str, new: Any) -> Any:
    """A copy of ``data`` with the value at ``path`` replaced or deleted, or a key added."""
    if not path:
        return new if how == "replace" else data
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        copy = dict(data)
        if not rest and how == "delete":
            copy.pop(head)
        elif not rest and how == "add" and isinstance(data[head], dict):
            copy[head] = {**data[head], "typo_key": new}
        else:
            copy[head] = mutate(data[head], rest, how, new)
        return copy
    copy_list = list(data)
    if not rest and how == "delete":
        copy_list.pop(head)
    else:
        copy_list[head] = mutate(data[head], rest, how, new)
    return copy_list


@st.composite
def mutated_studies(draw: st.DrawFn) -> Any:
    data: Any = VALID
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(paths(data)))
        how = draw(st.sampled_from(["replace", "delete", "add"]))
        data = mutate(data, path, how, draw(yaml_values))
    return data


def test_the_unmutated_study_is_valid():
    assert isinstance(outcome(VALID), Study)


@FAST
@given(mutated_studies())
def test_mutations_of_a_valid_study_give_a_study_or_a_study_error(data):
    outcome(data)


def check_file(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "study.yaml"
        path.write_bytes(content)
        try:
            load_study(path)
        except StudyError as error:
            assert str(path) in str(error)


@FAST
@given(mutated_studies() | yaml_values)
def test_study_files_as_yaml_text(data):
    check_file(yaml.safe_dump(data, allow_unicode=True).encode())


YAML_TOKENS = ["? ", ": ", "\n", "  ", "- ", "[", "]", "{", "}", ", ", "&a ", "*a", "!!set "]
YAML_TOKENS += ["!!binary ", "!!str ", "|", ">", "'", '"', "#", "name", "models", "1", "1.0"]
YAML_TOKENS += ["null", "2020-01-01", "~", "---", "...", "\t", "%YAML 1.1\n"]


@settings(max_examples=400, deadline=None, database=None)
@given(st.lists(st.sampled_from(YAML_TOKENS), max_size=25).map("".join))
def test_study_files_of_yaml_tokens(text):
    """Found a crash on a list or mapping used as a key (``? [1]\\n: 2``), now a StudyError."""
    check_file(text.encode())


@FAST
@given(st.binary(max_size=200))
def test_study_files_of_random_bytes(content):
    check_file(content)


def safe_for_globbing(data: Any) -> bool:
    """No recursive globs or home/absolute patterns: models are globbed on the real disk."""
    text = repr(data)
    return "**" not in text and "~" not in text


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(mutated_studies().filter(safe_for_globbing))
def test_the_cli_exits_0_or_2_on_any_study(data):
    """``epbatch run`` up to the batch start (files resolved, models checked by the engine)."""
    with tempfile.TemporaryDirectory() as folder:
        study = Path(folder) / "study.yaml"
        study.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        err = io.StringIO()
        with (
            mock.patch.object(cli, "_run", return_value=0) as started,
            mock.patch.dict("os.environ", {"EPBATCH_OUTPUT_DIR": f"{folder}/out"}),
            contextlib.redirect_stderr(err),
        ):
            status = cli.main(["run", str(study)])
        get_settings.cache_clear()
        event(f"exit {status}")  # --hypothesis-show-statistics: both kinds occur
        assert status in (0, 2), err.getvalue()
        assert (status == 0) == started.called
        if status == 2:
            assert f"{study}: " in err.getvalue()
            assert not (Path(folder) / "out").exists()
