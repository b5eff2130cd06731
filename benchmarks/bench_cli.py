"""The command line's fixed cost: wall time of everyday calls, each in a fresh process.

    python benchmarks/bench_cli.py              # best and median of 5 runs per call
    python benchmarks/bench_cli.py --repeat 10

Calls: ``gaussmix --help``, ``gaussmix fit --help``, a usage error (``gaussmix fit`` without
DATA), ``import gaussmix``, small fits (200 rows, 2 columns, K=2 and K=3, saving a model file)
and the same fit through the Python API (fit, predict, score), whose time is almost all fixed
cost (imports, reading, writing); ``import sklearn`` for reference (a small fit imports none of
it). The goal of issue 27: help and usage errors under 0.3 s, a small fit under 1 s. ``python -X importtime -c "import gaussmix.cli"`` shows where
import time goes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

GAUSSMIX = [sys.executable, "-m", "gaussmix"]
_API = """
import numpy as np
from gaussmix import GaussianMixture
X = np.loadtxt({data!r}, delimiter=",", skiprows=1)
model = GaussianMixture(3, random_state=0).fit(X)
model.predict(X), model.score(X)
"""


def _timed(argv, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        data = os.path.join(folder, "data.csv")
        with open(data, "w") as f:
            f.write("x,y\n")
            for i in range(200):
                centre = 0.0 if i % 2 else 5.0
                f.write(f"{centre + (i * 7919 % 101) / 50:.4f},{centre + (i * 104729 % 97) / 50:.4f}\n")
        cases = [
            ("python -c pass (interpreter start)", [sys.executable, "-c", "pass"]),
            ("import gaussmix", [sys.executable, "-c", "import gaussmix"]),
            ("gaussmix --help", [*GAUSSMIX, "--help"]),
            ("gaussmix fit --help", [*GAUSSMIX, "fit", "--help"]),
            ("gaussmix fit (usage error)", [*GAUSSMIX, "fit"]),
            ("gaussmix fit 200 rows, K=2", [*GAUSSMIX, "fit", data, "-k", "2", "-q",
                                            "-o", os.path.join(folder, "model.npz")]),
            ("gaussmix fit 200 rows, K=3 -o m.gmm", [*GAUSSMIX, "fit", data, "-k", "3", "-q",
                                                     "-o", os.path.join(folder, "m.gmm")]),
            ("Python: fit, predict, score (K=3)", [sys.executable, "-c", _API.format(data=data)]),
            ("import sklearn (reference)", [sys.executable, "-c", "import sklearn"]),
        ]
        print(f"{'call':40s} {'best':>8s} {'median':>8s}   ({args.repeat} runs each)")
        for name, command in cases:
            best, median = _timed(command, args.repeat)
            print(f"{name:40s} {best:7.3f}s {median:7.3f}s")


if __name__ == "__main__":
    main()
