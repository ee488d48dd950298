"""The demo study: the project's own shoebox model against three construction sets."""

from pathlib import Path

import yaml

from epbatch.study.demo_model import write_demo_model

DEMO_STUDY = {
    "name": "demo",
    "models": ["shoebox.idf"],
    "weather": ["USA_IL_Chicago-OHare.Intl.AP.725300_TMY3.epw"],
    "run_period": "annual",
    "construction_sets": {
        "baseline": {},
        "insulated-walls": {
            "exterior_wall": {
                "layers": [
                    {
                        "material": "Brick",
                        "thickness": 0.1,
                        "conductivity": 0.89,
                        "density": 1920,
                        "specific_heat": 790,
                    },
                    {
                        "material": "Mineral wool",
                        "thickness": 0.15,
                        "conductivity": 0.035,
                        "density": 30,
                        "specific_heat": 840,
                    },
                    {
                        "material": "Gypsum",
                        "thickness": 0.013,
                        "conductivity": 0.16,
                        "density": 800,
                        "specific_heat": 1090,
                    },
                ]
            }
        },
        "triple-glazing": {"window": {"u_factor": 0.8, "shgc": 0.5, "visible_transmittance": 0.7}},
    },
}


def write_demo_study(folder: Path) -> Path:
    """Write ``shoebox.idf`` and ``study.yaml`` into ``folder``; return the study file."""
    folder.mkdir(parents=True, exist_ok=True)
    write_demo_model(folder / "shoebox.idf")
    study = folder / "study.yaml"
    study.write_text(yaml.safe_dump(DEMO_STUDY, sort_keys=False), encoding="utf-8")
    return study


DEMO = "demo"  # a study argument that names the demo study (flow parameter, deployments)


def study_path(study: str, output_dir: Path) -> Path:
    """The study file ``study`` names: ``demo`` is the demo study, written into
    ``output_dir/demo-inputs`` (nothing is written into the project checkout)."""
    if study == DEMO:
        return write_demo_study(output_dir / "demo-inputs")
    return Path(study)
