"""EM speed of gaussmix against scikit-learn, in one run, on the same data and from the same start.

    python benchmarks/bench_speed.py              # every case (several minutes on 2 cores)
    python benchmarks/bench_speed.py --quick      # smaller N, fewer repeats (a smoke run)
    python benchmarks/bench_speed.py --only full diag --skip-e2e --skip-memory --skip-bayesian

What it prints:

* the machine's own dgemm / sgemm peak (GFLOP/s), measured now with all cores;
* per EM iteration, for each covariance type and dtype: scikit-learn's and gaussmix's time, the
  ratio, and gaussmix's achieved GFLOP/s against the peak. An iteration's time is
  ``(t(1 + n iterations) - t(1 iteration)) / n``, so validation and set-up cancel; each timing is
  the best of ``--repeat`` runs. Both libraries start from the same ``weights_init``,
  ``means_init`` and ``precisions_init`` with ``tol=0``;
* per iteration of each of mclust's other ten covariance models (``EII`` ... ``EVV``, N=200k,
  D=16, K=16) against the nearest of the four types above (the one with the same E-step);
* per iteration of the variational ``BayesianGaussianMixture`` against scikit-learn's, for full
  D=16 K=16 and diag D=40 K=128 (both start from the same random responsibilities:
  ``init_params="random"``, the same integer ``random_state``), with the relative difference of
  the two lower bounds after the timed iterations (the same computation, not just the same
  speed);
* a default end-to-end ``fit`` (initialisation included) at N=1M, D=16, K=16, with the final
  log-likelihood per sample of each;
* peak extra memory (above the data) of a fit on 10M x 16 float32 rows, each library in a fresh
  subprocess: the kernel's resident high-water mark (reset just before ``fit``) minus the
  resident size when ``fit`` starts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SkBayesianGaussianMixture
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import gaussmix as gm

# (covariance_type, n_samples, n_features, n_components): the cases of the speed issue
CASES = [
    ("full", 200_000, 16, 16),
    ("diag", 200_000, 40, 128),
    ("tied", 200_000, 16, 16),
    ("spherical", 200_000, 40, 128),
]
# mclust's other ten models, each against the nearest of scikit-learn's four (same E-step
# kernel family), on one shape.
MCLUST_SHAPE = (200_000, 16, 16)
NEAREST = {"EII": "spherical", "EEI": "diag", "VEI": "diag", "EVI": "diag", "VEE": "full",
           "EVE": "full", "VVE": "full", "EEV": "full", "VEV": "full", "EVV": "full"}
# The variational mixture's cases (the Bayesian mixture issue).
BAYESIAN_CASES = [
    ("full", 200_000, 16, 16),
    ("diag", 200_000, 40, 128),
]


def flops_per_iteration(ctype, n, d, k):
    """Nominal arithmetic of one EM iteration in the classic GEMM formulation (multiply-adds count
    2), the same whatever kernel runs it, so rates compare across versions and libraries; the
    expanded full-covariance E-step executes about 60% of this count."""
    if ctype == "full":
        return 4.0 * n * k * d * d  # E-step [x|1] @ [L_k] and M-step R^T @ (x x^T)
    if ctype == "tied":
        return 4.0 * n * d * d + 4.0 * n * k * d  # x @ L and x^T x; y @ B^T and R^T @ x
    return 8.0 * n * k * d  # [x*x | x] @ Theta and R^T @ [x*x | x]


def gemm_peak(dtype, size=2048, repeat=5):
    rng = np.random.default_rng(0)
    a = rng.random((size, size)).astype(dtype)
    b = rng.random((size, size)).astype(dtype)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeat))
    return 2.0 * size**3 / best / 1e9


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def make_data(n, d, k, dtype, seed=0):
    """Well-separated blobs with random covariances: a realistic EM workload."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(k, d))
    labels = rng.integers(0, k, size=n)
    X = centres[labels] + rng.normal(size=(n, d)) * rng.uniform(0.5, 1.5, size=(k, d))[labels]
    return X.astype(dtype)


def common_start(X, ctype, k):
    """A start both libraries accept: gaussmix's initialisation on a subsample."""
    sub = np.asarray(X[:20_000], dtype=np.float64)
    init = gm.GaussianMixture(k, covariance_type=ctype, max_iter=0, random_state=0).fit(sub)
    weights = init.weights_ / init.weights_.sum()
    return {"weights_init": weights, "means_init": init.means_, "precisions_init": init.precisions_}


def per_iteration(cls, X, ctype, k, start, n_iter, repeat):
    def fit(iters):
        model = cls(k, covariance_type=ctype, max_iter=iters, tol=0.0, **start)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X)

    one = min(_timed(lambda: fit(1)) for _ in range(repeat))
    many = min(_timed(lambda: fit(1 + n_iter)) for _ in range(repeat))
    return max(many - one, 1e-9) / n_iter


def bench_iterations(args, peaks):
    print("\n== Time per EM iteration (same data, same start, tol=0) ==")
    header = (
        f"{'case':<34}{'sklearn s':>11}{'gaussmix s':>12}{'speed-up':>10}"
        f"{'GFLOP/s':>9}{'% peak':>8}"
    )
    print(header)
    rows = []
    for ctype, n, d, k in CASES:
        if args.only and ctype not in args.only:
            continue
        n = n // 10 if args.quick else n
        for dtype in (np.float64, np.float32):
            X = make_data(n, d, k, dtype)
            start = common_start(X, ctype, k)
            t_sk = per_iteration(SkGaussianMixture, X, ctype, k, start, args.iters, args.repeat)
            t_gm = per_iteration(gm.GaussianMixture, X, ctype, k, start, args.iters, args.repeat)
            gflops = flops_per_iteration(ctype, n, d, k) / t_gm / 1e9
            peak = peaks[np.dtype(dtype).name]
            name = f"{ctype} N={n} D={d} K={k} {np.dtype(dtype).name}"
            print(
                f"{name:<34}{t_sk:>11.4f}{t_gm:>12.4f}{t_sk / t_gm:>9.1f}x"
                f"{gflops:>9.1f}{100 * gflops / peak:>7.0f}%",
                flush=True,
            )
            rows.append({"case": name, "sklearn": t_sk, "gaussmix": t_gm, "ratio": t_sk / t_gm})
    return rows


def bench_mclust(args):
    n, d, k = MCLUST_SHAPE
    n = n // 10 if args.quick else n
    print(f"\n== mclust's models: time per EM iteration, N={n} D={d} K={k} float64 ==")
    print(f"{'model':<8}{'gaussmix s':>12}{'nearest':>11}{'its s':>10}{'ratio':>8}")
    X = make_data(n, d, k, np.float64)
    times = {}
    for ctype in dict.fromkeys(NEAREST.values()):
        times[ctype] = per_iteration(gm.GaussianMixture, X, ctype, k, common_start(X, ctype, k),
                                     args.iters, args.repeat)
    rows = []
    for code, nearest in NEAREST.items():
        if args.only and code not in args.only:
            continue
        t = per_iteration(gm.GaussianMixture, X, code, k, common_start(X, code, k), args.iters,
                          args.repeat)
        ratio = t / times[nearest]
        print(f"{code:<8}{t:>12.4f}{nearest:>11}{times[nearest]:>10.4f}{ratio:>7.2f}x", flush=True)
        rows.append({"model": code, "seconds": t, "nearest": nearest, "ratio": ratio})
    return rows


def bayesian_fit(cls, X, ctype, k, iters):
    """A variational fit from random responsibilities; returns its lower bound."""
    model = cls(n_components=k, covariance_type=ctype, init_params="random", random_state=0,
                max_iter=iters, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return float(np.squeeze(model.lower_bound_))


def bench_bayesian(args):
    print("\n== BayesianGaussianMixture: time per iteration (same random start, tol=0) ==")
    print(f"{'case':<34}{'sklearn s':>11}{'gaussmix s':>12}{'speed-up':>10}{'bound rel diff':>16}")
    rows = []
    for ctype, n, d, k in BAYESIAN_CASES:
        if args.only and ctype not in args.only:
            continue
        n = n // 10 if args.quick else n
        for dtype in (np.float64, np.float32):
            X = make_data(n, d, k, dtype)
            times, bounds = {}, {}
            for name, cls in (("sklearn", SkBayesianGaussianMixture),
                              ("gaussmix", gm.BayesianGaussianMixture)):
                spec = (cls, X, ctype, k)
                one = min(_timed(lambda c=spec: bayesian_fit(*c, 1)) for _ in range(args.repeat))
                many = min(_timed(lambda c=spec: bayesian_fit(*c, 1 + args.iters))
                           for _ in range(args.repeat))
                times[name] = max(many - one, 1e-9) / args.iters
                bounds[name] = bayesian_fit(*spec, 1 + args.iters)
            gap = abs(bounds["gaussmix"] - bounds["sklearn"]) / abs(bounds["sklearn"])
            ratio = times["sklearn"] / times["gaussmix"]
            case = f"{ctype} N={n} D={d} K={k} {np.dtype(dtype).name}"
            print(f"{case:<34}{times['sklearn']:>11.4f}{times['gaussmix']:>12.4f}{ratio:>9.1f}x"
                  f"{gap:>16.1e}", flush=True)
            rows.append({"case": case, "ratio": ratio, "bound_gap": gap})
    return rows


def bench_end_to_end(args):
    n = 100_000 if args.quick else 1_000_000
    print(f"\n== Default end-to-end fit (initialisation included), N={n} D=16 K=16 float64 ==")
    X = make_data(n, 16, 16, np.float64, seed=1)
    results = {}
    for name, cls in (("sklearn", SkGaussianMixture), ("gaussmix", gm.GaussianMixture)):
        model = cls(16, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            seconds = _timed(lambda m=model: m.fit(X))
        results[name] = (seconds, model.score(X), model.n_iter_)
        print(
            f"{name:<10} {seconds:8.2f} s  {model.n_iter_:4d} iterations  "
            f"log-likelihood/sample {model.score(X):.6f}",
            flush=True,
        )
    ratio = results["sklearn"][0] / results["gaussmix"][0]
    better = results["gaussmix"][1] - results["sklearn"][1]
    print(f"speed-up {ratio:.1f}x; gaussmix log-likelihood minus sklearn's: {better:+.6f}")


_MEMORY_CHILD = r"""
import json, sys, warnings
import numpy as np

def status(key):  # bytes, from the kernel's own accounting of this process
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

lib, n, d, k = sys.argv[1], int(sys.argv[2]), 16, 16
rng = np.random.default_rng(0)
X = np.empty((n, d), dtype=np.float32)
step = 1_000_000
centres = rng.normal(scale=4.0, size=(k, d)).astype(np.float32)
for a in range(0, n, step):
    b = min(a + step, n)
    X[a:b] = centres[rng.integers(0, k, b - a)] + rng.standard_normal((b - a, d), dtype=np.float32)
sub = X[:20000].astype(np.float64)
import gaussmix as gm
init = gm.GaussianMixture(k, max_iter=0, random_state=0).fit(sub)
start = dict(weights_init=init.weights_ / init.weights_.sum(), means_init=init.means_,
             precisions_init=init.precisions_)
if lib == "sklearn":
    from sklearn.mixture import GaussianMixture as cls
else:
    cls = gm.GaussianMixture
del sub, init
# Reset the high-water mark so that data generation's temporaries do not hide the fit's peak.
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
base = status("VmRSS")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    cls(k, max_iter=2, tol=0.0, **start).fit(X)
peak = status("VmHWM")
print(json.dumps(dict(base=base, peak=peak, data=X.nbytes)))
"""


def bench_memory(args):
    n = args.memory_rows // (10 if args.quick else 1)
    print(f"\n== Peak memory of a fit on {n:,} x 16 float32 rows (K=16, 2 iterations) ==")
    for lib in ("gaussmix", "sklearn"):
        proc = subprocess.run(
            [sys.executable, "-c", _MEMORY_CHILD, lib, str(n)],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-1:] or ["(no message)"]
            print(f"{lib:<10} failed: {tail[0]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        extra = r["peak"] - r["base"]
        print(
            f"{lib:<10} data {r['data'] / 2**20:8.0f} MiB   peak extra {extra / 2**20:8.0f} MiB"
            f"   ({100 * extra / r['data']:.0f}% of the data)",
            flush=True,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller N, one repeat")
    parser.add_argument("--only", nargs="*", help="covariance types to run (default: all)")
    parser.add_argument("--iters", type=int, default=5, help="EM iterations timed per case")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many timings")
    parser.add_argument("--skip-bayesian", action="store_true",
                        help="skip the BayesianGaussianMixture cases")
    parser.add_argument("--skip-mclust", action="store_true", help="skip mclust's ten models")
    parser.add_argument("--skip-e2e", action="store_true", help="skip the end-to-end fit")
    parser.add_argument("--skip-memory", action="store_true", help="skip the memory case")
    parser.add_argument("--memory-rows", type=int, default=10_000_000)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat = 1

    peaks = {"float64": gemm_peak(np.float64), "float32": gemm_peak(np.float32)}
    print(f"Machine GEMM peak now: dgemm {peaks['float64']:.1f} GFLOP/s, "
          f"sgemm {peaks['float32']:.1f} GFLOP/s")
    bench_iterations(args, peaks)
    if not args.skip_bayesian:
        bench_bayesian(args)
    if not args.skip_mclust:
        bench_mclust(args)
    if not args.skip_e2e:
        bench_end_to_end(args)
    if not args.skip_memory:
        bench_memory(args)


if __name__ == "__main__":
    main()
