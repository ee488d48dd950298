"""Invalid input exits with status 2 and a message naming file and key, before Prefect starts."""

import subprocess
import sys

import pytest

from epbatch.ops.cli import main
from tests.conftest import study_data


def run(argv, capsys):
    status = main(argv)
    return status, capsys.readouterr().err


def test_invalid_study_exits_2_naming_file_and_key(write_study, capsys):
    study = write_study(study_data(slots=0, colour="blue"))
    status, err = run(["run", str(study)], capsys)
    assert status == 2
    assert f"{study}: slots: Input should be greater than or equal to 1" in err
    assert f"{study}: colour: unknown key" in err


def test_invalid_input_is_rejected_before_prefect_loads(write_study):
    study = write_study(study_data(slots=0))
    code = (
        "import sys; from epbatch.ops.cli import main; s = main(['run', sys.argv[1]]); "
        "print(s, 'prefect' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(study)], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["2", "False"]


def test_missing_model_exits_2(write_study, capsys):
    study = write_study(study_data(models=["gone.idf"]))
    status, err = run(["run", str(study)], capsys)
    assert status == 2 and "models.0: model file not found" in err


def test_missing_study_file_exits_2(tmp_path, capsys):
    status, err = run(["run", str(tmp_path / "none.yaml")], capsys)
    assert status == 2 and "none.yaml: cannot read the study file" in err


@pytest.mark.parametrize("slots", ["0", "100000"])
def test_bad_slots_option_exits_2(write_study, capsys, slots):
    status, err = run(["run", str(write_study()), "--slots", slots], capsys)
    assert status == 2 and "--slots: must be between 1 and 256" in err


def test_a_bad_parameter_exits_2_before_any_simulation(write_study, capsys, tmp_path):
    parameters = {
        "lights": {
            "set": {"object": "Lights", "field": "Watts per Zone Floor Area"},
            "values": [5],
        },
        "north": {"set": {"object": "Building", "field": "North Axis"}, "range": [90, 0]},
    }
    study = write_study(study_data(parameters=parameters, sampling={"method": "lhs"}))
    out = tmp_path / "runs"
    status, err = run(["--output-dir", str(out), "run", str(study)], capsys)
    assert status == 2
    assert f"{study}: parameters.north.range: low (90) must be below high (0)" in err
    assert f"{study}: sampling.samples: required for method lhs" in err
    assert not out.exists()  # no batch folder, no variant, no simulation

    parameters["north"]["range"] = [0, 90]
    study = write_study(study_data(parameters=parameters, sampling={"method": "lhs", "samples": 4}))
    status, err = run(["--output-dir", str(out), "run", str(study)], capsys)
    assert status == 2
    assert "parameters.lights.set: Lights has no field 'Watts per Zone Floor Area'" in err
    assert not out.exists()
