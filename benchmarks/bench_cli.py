"""The command line's fixed cost: wall time of everyday calls, each in a fresh process.

    python benchmarks/bench_cli.py              # best and median of 5 runs per call
    python benchmarks/bench_cli.py --repeat 10

Calls: ``gaussmix --help``, ``gaussmix fit --help``, a usage error (``gaussmix fit`` without
DATA), ``import gaussmix``, and a small ``fit`` (200 rows, 2 columns, K=2) whose time is almost
all fixed cost (imports, reading, writing). The goal of issue 27: help and usage errors under
0.3 s, a small fit under 1 s. ``python -X importtime -c "import gaussmix.cli"`` shows where
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
        ]
        print(f"{'call':40s} {'best':>8s} {'median':>8s}   ({args.repeat} runs each)")
        for name, command in cases:
            best, median = _timed(command, args.repeat)
            print(f"{name:40s} {best:7.3f}s {median:7.3f}s")


if __name__ == "__main__":
    main()
