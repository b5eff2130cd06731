"""Before and after: the same timings on two source trees, in one run.

    git worktree add --detach /tmp/before <REV>
    python benchmarks/compare_revisions.py /tmp/before/src src --rounds 3

Each case runs in a fresh subprocess per tree (so both import their own gaussmix), the trees
taking turns so that a slow spell of the machine slows both; the best of ``--rounds`` is kept
and the ratio after/before printed (below 1: the change is faster). The cases: a default
``select_model`` grid on Old Faithful, fifty small k-means-started fits on iris (call overhead),
and 100 EM iterations from a fixed start for full and diagonal covariances (arithmetic).
"""
import argparse
import subprocess
import sys

CASES = {
 "select_model old_faithful": "import gaussmix as gm, time; X=gm.datasets.load_old_faithful(); gm.select_model(X[:50], range(1,3), progress=False); from gaussmix.engine import starts; starts.clear_cache() if hasattr(starts,'clear_cache') else None; t=time.perf_counter(); gm.select_model(X, range(1,10), progress=False); print(time.perf_counter()-t)",
 "GaussianMixture(3) iris x50": "import gaussmix as gm, time; X=gm.datasets.load_iris(); gm.GaussianMixture(3).fit(X); t=time.perf_counter();\nfor i in range(50): gm.GaussianMixture(3, random_state=i, init_params='kmeans').fit(X)\nprint(time.perf_counter()-t)",
 "100 EM iterations full 20000x16 K16": "import gaussmix as gm, numpy as np, time, warnings; warnings.simplefilter('ignore'); rng=np.random.default_rng(0); X=rng.normal(size=(20000,16))+rng.integers(0,16,20000)[:,None]; m=gm.GaussianMixture(16,max_iter=2,tol=0,init_params='random_from_data',random_state=0).fit(X); s=dict(weights_init=m.weights_,means_init=m.means_,precisions_init=m.precisions_); gm.GaussianMixture(16,max_iter=2,tol=0,**s).fit(X); t=time.perf_counter(); gm.GaussianMixture(16,max_iter=100,tol=0,**s).fit(X); print(time.perf_counter()-t)",
 "100 EM iterations diag 20000x40 K32": "import gaussmix as gm, numpy as np, time, warnings; warnings.simplefilter('ignore'); rng=np.random.default_rng(0); X=rng.normal(size=(20000,40))+rng.integers(0,32,20000)[:,None]; m=gm.GaussianMixture(32,covariance_type='diag',max_iter=2,tol=0,init_params='random_from_data',random_state=0).fit(X); s=dict(weights_init=m.weights_,means_init=m.means_,precisions_init=m.precisions_); t=time.perf_counter(); gm.GaussianMixture(32,covariance_type='diag',max_iter=100,tol=0,**s).fit(X); print(time.perf_counter()-t)",
}
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("before", help="the src folder of the tree before the change")
parser.add_argument("after", help="the src folder of the tree after it")
parser.add_argument("--rounds", type=int, default=3)
args = parser.parse_args()
trees = {"before": args.before, "after": args.after}
rounds = args.rounds
for name, code in CASES.items():
    best = {k: float("inf") for k in trees}
    for _ in range(rounds):
        for label, src in trees.items():
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 env={"PYTHONPATH": src, "MPLBACKEND": "Agg", "PATH": "/usr/bin"},
                                 check=False)
            try:
                best[label] = min(best[label], float(out.stdout.strip().splitlines()[-1]))
            except Exception:
                print(out.stderr[-500:]); raise
    print(f"{name:<40} before {best['before']:.3f} s  after {best['after']:.3f} s  after/before {best['after']/best['before']:.2f}", flush=True)
