"""Property-based: whatever ``parameters:`` and ``sampling:`` sections arrive, validation ends in
a valid study or in ``parameters``/``sampling`` problems (never another exception), and a valid
study's samples are what its sampling promises: the count, within each parameter's range or
levels, unique stable ids, the same again for the same seed. No engine, no IDD."""

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from epbatch.study.spec import MAX_VARIANTS, Study, StudyError, parse_study, sample_count
from epbatch.variants.sampling import draw_samples
from tests.reliability.test_study_properties import VALID, yaml_values

pytestmark = pytest.mark.reliability

PROPS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

numbers = st.integers(min_value=-1000, max_value=1000) | st.floats(
    min_value=-1e6, max_value=1e6, allow_nan=False
)
words = st.sampled_from(["City", "AirChanges/Hour", "autosize", "Yes", "", "*", "SPACE*"])
targets = st.fixed_dictionaries(
    {
        "object": st.sampled_from(["Lights", "Building", "ZoneInfiltration:DesignFlowRate", ""]),
        "field": st.sampled_from(["Watts per Floor Area", "North Axis", "Air Changes per Hour"]),
    },
    optional={
        "name": words,
        "also": st.dictionaries(st.sampled_from(["Terrain", "X"]), numbers | words, max_size=2),
    },
)
pairs = st.lists(numbers, min_size=0, max_size=3)
kinds = st.one_of(
    st.fixed_dictionaries({"values": st.lists(numbers | words, min_size=0, max_size=4)}),
    st.fixed_dictionaries({"range": pairs}),
    st.fixed_dictionaries({"scale": pairs}),
    st.fixed_dictionaries({"scale": st.fixed_dictionaries({"values": pairs})}),
    st.fixed_dictionaries({"scale": st.fixed_dictionaries({"range": pairs})}),
    st.fixed_dictionaries({"values": st.lists(numbers, min_size=1), "range": pairs}),
    yaml_values,
)
parameter = st.builds(lambda t, k: {"set": t, **k} if isinstance(k, dict) else k, targets, kinds)
keys = st.sampled_from(["a", "b", "north_axis", "status", "9x", "x" * 70]) | st.from_regex(
    r"[a-z_][a-z0-9_]{0,8}", fullmatch=True
)
messy = st.dictionaries(keys, parameter, max_size=4)
ordered = st.lists(st.floats(-1e4, 1e4), min_size=2, max_size=2, unique=True).map(sorted)
sound_kinds = st.one_of(
    st.fixed_dictionaries({"values": st.lists(numbers | words, min_size=1, max_size=4)}),
    st.fixed_dictionaries({"range": ordered}),
    st.fixed_dictionaries({"scale": ordered}),
    st.fixed_dictionaries(
        {"scale": st.fixed_dictionaries({"values": st.lists(numbers, min_size=1, max_size=3)})}
    ),
)


@st.composite
def sound(draw: st.DrawFn) -> dict[str, Any]:
    """Distinct fields with well-formed kinds (validity then hinges on the sampling)."""
    count = draw(st.integers(min_value=1, max_value=4))
    return {
        f"p{i}": {"set": {"object": "Lights", "field": f"Field {i}"}, **draw(sound_kinds)}
        for i in range(count)
    }


sections = sound() | messy
sound_sampling = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["lhs", "sobol", "random", "morris"]),
        "samples": st.sampled_from([1, 2, 4, 8, 16]),
        "seed": st.integers(min_value=0, max_value=2**32 - 1),
    }
)
sampling = (
    st.none()
    | sound_sampling
    | st.fixed_dictionaries(
        {},
        optional={
            "method": st.sampled_from(["grid", "lhs", "sobol", "random", "morris", "latin"]),
            "samples": st.integers(min_value=-1, max_value=70) | st.just(200_000),
            "seed": st.integers(min_value=-1, max_value=2**33),
            "levels": st.integers(min_value=0, max_value=6),
        },
    )
)


def study_or_problems(parameters: Any, sampled: Any) -> Study | list[str]:
    data = {**VALID, "parameters": parameters}
    if sampled is not None:
        data["sampling"] = sampled
    try:
        return parse_study(data, "prop.yaml")
    except StudyError as error:
        return error.problems


@PROPS
@given(sections, sampling)
@example(  # found by this property: rounding to 12 digits once left the range
    parameters={
        "p0": {"set": {"object": "Lights", "field": "Field 0"}, "range": [-1000.966796875, 0.0]},
        "p1": {"set": {"object": "Lights", "field": "Field 1"}, "values": [0]},
    },
    sampled={"method": "morris", "samples": 1, "seed": 0},
)
def test_any_parameter_section_gives_a_study_or_named_problems(parameters, sampled):
    found = study_or_problems(parameters, sampled)
    if isinstance(found, list):
        event("refused")
        assert found and all(p.startswith(("parameters", "sampling")) for p in found), found
        return
    event(f"valid: {(found.sampling.method if found.sampling else 'grid')}")
    count = sample_count(found)
    if not found.parameters:
        assert found.sampling is None and draw_samples(found) is None and count == 1
        return
    assert len(VALID["construction_sets"]) * count <= MAX_VARIANTS
    if count > 5000:  # drawing is what the other property checks; keep this one fast
        return
    samples = draw_samples(found)
    assert samples is not None and len(samples) == count
    assert len(set(samples.ids)) == count and samples.ids == tuple(sorted(samples.ids))
    for key, spec in found.parameters.items():
        levels, bounds = spec.levels, spec.bounds
        for values in samples.values:
            value = values[key]
            if levels is not None:
                assert value in levels
            else:
                assert bounds is not None and isinstance(value, float)
                assert bounds[0] - 1e-9 <= value <= bounds[1] + 1e-9
                assert math.isfinite(value)
    again = draw_samples(found)
    assert again is not None and again.values == samples.values
