"""Scaling of gaussmix beyond memory: out-of-core files, time against N, and Dask overhead.

    python benchmarks/bench_scale.py                  # smoke run: 2M-row file, N = 1M, 2M; Dask at 1M
    python benchmarks/bench_scale.py --n 100000000 --scaling 1e6 1e7 1e8 --dask-n 10000000
                                                      # the full run: a 6.4 GB float32 file

What it measures (K=8 full-covariance components, D=16 float32 features by default):

1. **Out of core.** A float32 ``.npy`` file of ``--n`` rows is written block by block and fitted
   from ``np.load(path, mmap_mode="r")`` with the default start, in a fresh process. Reported:
   the time of validation + initialisation (``max_iter=0``), the time per EM iteration, and the
   peak *anonymous* memory of the process above its level before the fit. Anonymous memory is
   what the fit allocates; the file's pages in the page cache also count in RSS (``VmHWM``), but
   they belong to the kernel's cache, are shared and can be dropped at any time, so RSS would
   grow with the file even though the fit does not. ``VmHWM`` is printed for reference.
2. **Time against N.** Per-iteration time on the first N rows of the same file, for every N in
   ``--scaling``, from a fixed start: ``(t(1 + iters) - t(1)) / iters`` so that validation cancels
   (each time the best of two, after a warm-up fit).
   Linear scaling shows as a constant time per row.
3. **Dask overhead.** At ``--dask-n`` rows: per-iteration time of the in-memory fit (all rows in
   RAM, every core) against the same fit of a Dask array held by a ``LocalCluster`` of
   ``--workers`` single-threaded worker processes, the workers having read their blocks from the
   file themselves (no data passes through the client). The ratio is Dask / in-memory.

Each measurement runs in its own subprocess, so memory peaks and thread pools do not mix. The
file is deleted at the end unless ``--keep`` is given (``--dir`` picks where it is written; it
needs ``n * features * 4`` bytes of disk).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import numpy as np

N_COMPONENTS = 8


# ---------------------------------------------------------------------- data
def write_file(path, n_samples, n_features, n_components, seed=0, block=1_000_000):
    """A float32 mixture written block by block (memory: one block), atomically renamed."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(-6, 6, (n_components, n_features))
    factors = [np.eye(n_features) + 0.3 * rng.standard_normal((n_features, n_features))
               for _ in range(n_components)]
    tmp = f"{path}.part"
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32,
                                    shape=(n_samples, n_features))
    for start in range(0, n_samples, block):
        stop = min(start + block, n_samples)
        labels = rng.integers(0, n_components, stop - start)
        z = rng.standard_normal((stop - start, n_features))
        rows = np.empty_like(z)
        for k in range(n_components):
            sel = labels == k
            rows[sel] = z[sel] @ factors[k] + means[k]
        out[start:stop] = rows
    out.flush()
    del out
    os.replace(tmp, path)


def fixed_start(path, n_features):
    """A start shared by every timed fit: a short fit on the first 20,000 rows."""
    import gaussmix as gm

    X = np.array(np.load(path, mmap_mode="r")[:20_000])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = gm.GaussianMixture(N_COMPONENTS, random_state=0, max_iter=5).fit(X)
    return {"weights_init": model.weights_.tolist(), "means_init": model.means_.tolist(),
            "precisions_init": model.precisions_.tolist()}


# ---------------------------------------------------------------------- memory
def _status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


class PeakAnon:
    """Peak anonymous resident memory (``RssAnon``) while the block runs, sampled every 5 ms."""

    def __init__(self, interval=0.005):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _status("RssAnon"))
            self._stop.wait(self.interval)

    def __enter__(self):
        self.before = _status("RssAnon")
        self.peak = self.before
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _status("RssAnon"))
        self.extra = self.peak - self.before


# ---------------------------------------------------------------------- children
def _timed_fit(X, **params):
    import gaussmix as gm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model = gm.GaussianMixture(N_COMPONENTS, tol=0, random_state=0, **params).fit(X)
        return time.perf_counter() - start, model


def child_out_of_core(spec):
    X = np.load(spec["path"], mmap_mode="r")
    with PeakAnon() as mem:
        t_setup, _ = _timed_fit(X, max_iter=0)
        t_fit, model = _timed_fit(X, max_iter=spec["iters"])
    return {
        "n": X.shape[0], "file_gb": X.nbytes / 1e9, "setup_s": t_setup,
        "iter_s": (t_fit - t_setup) / spec["iters"], "fit_s": t_fit,
        "peak_anon_extra_mb": mem.extra / 2**20, "vmhwm_mb": _status("VmHWM") / 2**20,
        "lower_bound": model.lower_bound_,
    }


def _per_iteration(X, start, iters, repeat=2):
    """``(t(1 + iters) - t(1)) / iters``, each the best of ``repeat``, after a warm-up fit."""
    start = {k: np.asarray(v) for k, v in start.items()}
    _timed_fit(X, max_iter=0, **start)  # page cache, imports on workers, thread pools
    t1 = min(_timed_fit(X, max_iter=1, **start)[0] for _ in range(repeat))
    tn = min(_timed_fit(X, max_iter=1 + iters, **start)[0] for _ in range(repeat))
    return (tn - t1) / iters


def child_scaling(spec):
    X = np.load(spec["path"], mmap_mode="r")[: spec["n"]]
    return {"n": spec["n"], "iter_s": _per_iteration(X, spec["start"], spec["iters"])}


def _load_block(block_info=None, path=None):
    (lo, hi), _ = block_info[None]["array-location"]
    return np.array(np.load(path, mmap_mode="r")[lo:hi])


def child_dask(spec):
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    n, d, rows = spec["n"], spec["features"], spec["block_rows"]
    X = np.array(np.load(spec["path"], mmap_mode="r")[:n])
    t_memory = _per_iteration(X, spec["start"], spec["iters"])
    del X
    with LocalCluster(n_workers=spec["workers"], threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=40) as cluster, Client(cluster) as client:
        chunks = (tuple(min(rows, n - a) for a in range(0, n, rows)), (d,))
        Xd = da.map_blocks(_load_block, path=spec["path"], chunks=chunks, dtype=np.float32,
                           meta=np.empty((0, 0), np.float32))
        Xd = client.persist(Xd)  # each worker reads its own blocks from the file
        wait(Xd)
        t_dask = _per_iteration(Xd, spec["start"], spec["iters"])
    return {"n": n, "memory_iter_s": t_memory, "dask_iter_s": t_dask,
            "ratio": t_dask / t_memory, "workers": spec["workers"], "block_rows": rows}


CHILDREN = {"out_of_core": child_out_of_core, "scaling": child_scaling, "dask": child_dask}


def run_child(kind, spec):
    """Run one measurement in a fresh interpreter; returns its JSON result."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", kind, json.dumps(spec)]
    result = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{kind} measurement failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- driver
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=float, default=2e6, help="rows of the out-of-core file")
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--iters", type=int, default=3, help="timed EM iterations per fit")
    parser.add_argument("--scaling", type=float, nargs="*", default=[1e6, 2e6],
                        help="row counts for time against N (each <= --n)")
    parser.add_argument("--dask-n", type=float, default=1e6, help="rows for the Dask comparison")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--block-rows", type=int, default=None,
                        help="rows per Dask block (default: 4 blocks per worker, 100k to 1M rows)")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--dir", default=None, help="where to write the data file")
    parser.add_argument("--keep", action="store_true", help="keep the data file")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        kind, spec = args.child
        print(json.dumps(CHILDREN[kind](json.loads(spec))))
        return
    n = int(args.n)
    scaling = sorted(int(v) for v in args.scaling)
    dask_n = int(args.dask_n)
    block_rows = args.block_rows or min(1_000_000, max(100_000, -(-dask_n // (4 * args.workers))))
    if any(v > n for v in scaling) or (not args.skip_dask and dask_n > n):
        raise SystemExit("--scaling and --dask-n values must not exceed --n (the file's rows).")
    workdir = args.dir or tempfile.mkdtemp(prefix="gaussmix-bench-")
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, f"mixture_{n}x{args.features}_f32.npy")
    results = {"n_components": N_COMPONENTS, "features": args.features, "cpus": os.cpu_count()}
    try:
        if not os.path.exists(path):
            t = time.perf_counter()
            write_file(path, n, args.features, N_COMPONENTS)
            print(f"wrote {path} ({n * args.features * 4 / 1e9:.2f} GB) in "
                  f"{time.perf_counter() - t:.1f} s", flush=True)
        start = fixed_start(path, args.features)

        r = run_child("out_of_core", {"path": path, "iters": args.iters})
        results["out_of_core"] = r
        print(f"\nout of core: {r['n']:,} x {args.features} float32 ({r['file_gb']:.2f} GB), "
              f"K={N_COMPONENTS} full")
        print(f"  validation + default start : {r['setup_s']:8.2f} s")
        print(f"  per EM iteration           : {r['iter_s']:8.2f} s")
        print(f"  peak extra anonymous memory: {r['peak_anon_extra_mb']:8.1f} MB "
              f"(VmHWM incl. file cache {r['vmhwm_mb']:.0f} MB)", flush=True)

        print("\nper-iteration time against N (fixed start, memory-mapped):")
        results["scaling"] = []
        for rows in scaling:
            r = run_child("scaling", {"path": path, "n": rows, "iters": args.iters,
                                      "start": start})
            results["scaling"].append(r)
            print(f"  N = {rows:>13,}: {r['iter_s']:8.3f} s/iteration, "
                  f"{1e9 * r['iter_s'] / rows:6.1f} ns/row", flush=True)

        if not args.skip_dask:
            r = run_child("dask", {"path": path, "n": dask_n, "iters": args.iters,
                                   "start": start, "features": args.features,
                                   "workers": args.workers, "block_rows": block_rows})
            results["dask"] = r
            print(f"\nDask LocalCluster ({args.workers} worker processes x 1 thread, blocks of "
                  f"{block_rows:,} rows) at N = {dask_n:,}:")
            print(f"  in memory {r['memory_iter_s']:.3f} s/iteration, Dask "
                  f"{r['dask_iter_s']:.3f} s/iteration, ratio {r['ratio']:.2f}x")
    finally:
        if not args.keep:
            if args.dir:
                if os.path.exists(path):
                    os.remove(path)
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        with open(args.json + ".part", "w") as fh:
            json.dump(results, fh, indent=2)
        os.replace(args.json + ".part", args.json)


if __name__ == "__main__":
    main()
