"""Plan-time cost per model: preparation (epJSON conversion, ExpandObjects), the engine's
input check, the eppy parse, and the check of a whole study of these models against its
slowest plain model.

    .venv/bin/python bench/bench_prepare.py ../shared/models/*.idf ../shared/models/*.epJSON \
        [--repeat 3]

Per model (median of ``--repeat`` runs, each with an empty cache): ``prepare`` cold, then
cached (a later check or batch), ``check`` (``energyplus --convert-only`` on the prepared IDF),
``parse`` (eppy) and the steps taken; refused models print their reason's start. Then the
whole check of all accepted models (parallel, as ``epbatch run`` does it) next to that of the
plain ones alone: the difference is what preparation adds before the first simulation.
"""

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from epbatch.run.engine import find_engine
from epbatch.study.inputs import _check_models
from epbatch.variants.idfcheck import _engine_check
from epbatch.variants.idfmodel import load_model
from epbatch.variants.preprocess import ModelInput, ModelRefused, prepare_input


def timed(call: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    engine = find_engine()
    load_model(args.models[0], engine.idd)  # the IDD, once, outside the timings
    accepted: list[ModelInput] = []
    print(f"{'model':42} {'prepare':>8} {'cached':>7} {'check':>6} {'parse':>6}  steps")

    def fresh(path: Path) -> ModelInput:  # prepared with an empty cache
        return prepare_input(path, engine, Path(tempfile.mkdtemp()))

    for path in args.models:
        try:
            model = fresh(path)
        except ModelRefused as refused:
            print(f"{path.name:42} refused: {str(refused)[:70]}")
            continue
        cold, _ = timed(partial(fresh, path), args.repeat)
        cache = Path(tempfile.mkdtemp())
        prepare_input(path, engine, cache)
        cached, _ = timed(partial(prepare_input, path, engine, cache), args.repeat)
        check, _ = timed(partial(_engine_check, model.idf, engine.executable), args.repeat)
        parse, _ = timed(partial(load_model, model.idf, engine.idd), args.repeat)
        print(
            f"{path.name:42} {cold:8.3f} {cached:7.3f} {check:6.2f} {parse:6.2f}  "
            f"{'; '.join(s.split(' (')[0] for s in model.steps) or '-'}"
        )
        accepted.append(model)
    plain = [(i, m.source) for i, m in enumerate(accepted) if not m.steps]
    every = [(i, m.source) for i, m in enumerate(accepted)]
    for label, found in (("plain models", plain), ("all accepted models", every)):
        times = []
        for _ in range(args.repeat):
            copies = Path(tempfile.mkdtemp())  # new files: no engine check is cached
            renamed = [(i, copies / f"{i}-{p.name}") for i, p in found]
            for (_, copy), (_, source) in zip(renamed, found, strict=True):
                copy.write_bytes(source.read_bytes())
            start = time.perf_counter()
            _check_models(renamed, engine, Path(tempfile.mkdtemp()))
            times.append(time.perf_counter() - start)
        print(f"check of the {label} ({len(found)}), in parallel: {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
