"""The ``gaussmix`` command line: real subprocess round trips and clean failures on bad files."""

import os
import pickle
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

import gaussmix as gm
from _helpers import TWO_TYPES
from gaussmix.cli import cli
from gaussmix.io import read_model

SEED = 20261125


def run(*args, cwd):
    """Run the real command in a fresh interpreter."""
    env = {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": "120"}
    env.pop("GAUSSMIX_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "gaussmix", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False,
    )


def ok(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def cli_run(ext, cwd, *args):
    """A real subprocess for CSV, the in-process command for the other formats."""
    if ext == "csv":
        return run(*args, cwd=cwd)
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, [str(a) for a in args])
    finally:
        os.chdir(old)
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.output)


def read_columns(path):
    """Independent reader for the outputs: name -> 1-D array (npy: one column per position)."""
    path = str(path)
    if path.endswith(".csv"):
        import pandas as pd

        frame = pd.read_csv(path)
        return {name: frame[name].to_numpy() for name in frame.columns}
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return {name: table.column(name).to_numpy() for name in table.column_names}
    arr = np.load(path, allow_pickle=False)
    return {"x": arr} if arr.ndim == 1 else {i: arr[:, i] for i in range(arr.shape[1])}


def adjusted_rand(a, b):
    from sklearn.metrics import adjusted_rand_score

    return adjusted_rand_score(a, b)


# ---------------------------------------------------------------------- the round trip
@pytest.mark.parametrize("ext", ["csv", "parquet", "npy"])
def test_generate_fit_predict_score_plot_round_trip(tmp_path, ext):
    standardize = ext == "csv"
    data, labels = f"data.{ext}", f"data.labels.{ext}"
    ok(run("generate", "-n", 600, "-k", 3, "--overlap", 0.01, "--seed", 7, "-o", data,
           "--truth", "truth.npz", cwd=tmp_path))
    columns = read_columns(tmp_path / data)
    X = np.column_stack(list(columns.values()))
    y = next(iter(read_columns(tmp_path / labels).values()))
    assert X.shape == (600, 2) and y.shape == (600,)
    assert set(np.unique(y)) == {0, 1, 2}
    if ext != "npy":
        assert list(columns) == ["x0", "x1"]
    truth = gm.load(tmp_path / "truth.npz")
    assert adjusted_rand(truth.predict(X), y) > 0.9

    fit = ok(run("fit", data, "-k", 3, "-o", "model.npz", "--seed", 3,
                 *(["--standardize"] if standardize else []), cwd=tmp_path))
    saved = read_model(tmp_path / "model.npz")
    assert saved.standardized == standardize
    assert saved.feature_names == (None if ext == "npy" else ["x0", "x1"])
    # the same fit in Python, from the same data and seed
    Z = saved.transform(X)
    reference = gm.GaussianMixture(3, random_state=3).fit(Z)
    np.testing.assert_allclose(saved.model.means_, reference.means_, rtol=1e-10)
    raw = saved.raw_model()
    bic = re.search(r"BIC (\S+)", fit.stdout).group(1)
    assert float(bic) == pytest.approx(raw.bic(X), rel=1e-5)
    for weight in saved.model.weights_:
        assert f"{weight:.4f}" in fit.stdout

    ok(run("predict", data, "-m", "model.npz", "-o", f"pred.{ext}", cwd=tmp_path))
    pred = list(read_columns(tmp_path / f"pred.{ext}").values())
    label, probability, proba = pred[0], pred[1], np.column_stack(pred[2:])
    expected = saved.model.predict_proba(Z)
    np.testing.assert_allclose(proba, expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(label, expected.argmax(axis=1))
    np.testing.assert_allclose(probability, expected.max(axis=1), rtol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert adjusted_rand(label, y) > 0.9

    # Every step is a real subprocess for CSV; to keep the suite fast, Parquet and NPY run
    # score and plot in-process (the same code after the file is read).
    ok(cli_run(ext, tmp_path, "score", data, "-m", "model.npz", "--contamination", 0.02, "-o",
               f"scores.{ext}"))
    log_density, anomaly = read_columns(tmp_path / f"scores.{ext}").values()
    np.testing.assert_allclose(log_density, raw.score_samples(X), rtol=1e-9)
    assert anomaly.sum() == 12  # 2% of 600 rows: exactly the 12 least likely ones
    assert log_density[anomaly == 1].max() < log_density[anomaly == 0].min()

    ok(cli_run(ext, tmp_path, "plot", data, "-m", "model.npz", "-o", "fit.png"))
    from PIL import Image

    with Image.open(tmp_path / "fit.png") as image:
        assert image.format == "PNG" and min(image.size) > 100
    leftovers = [name for name in os.listdir(tmp_path) if name.startswith(".gaussmix-")]
    assert leftovers == []


# ---------------------------------------------------------------------- bad inputs fail cleanly
def _write(path, text):
    path.write_text(text)
    return path.name


BAD_CASES = {
    "missing file": (lambda d: "missing.csv", ["fit", "{data}", "-k", 2, "-o", "out.npz"],
                     "missing.csv: no such file"),
    "empty file": (lambda d: _write(d / "empty.csv", ""), ["fit", "{data}", "-k", 2, "-o", "out.npz"],
                   "empty.csv: the file is empty"),
    "text in a numeric column": (
        lambda d: _write(d / "text.csv", "a,b\n1,2\n3,4\n5,oops\n7,8\n"),
        ["fit", "{data}", "-k", 2, "-o", "out.npz"],
        "text.csv: column 'b' is not numeric (line 4: 'oops')",
    ),
    "NaN cells": (
        lambda d: _write(d / "nan.csv", "a,b\n1,2\n3,\n5,6\nnan,8\n9,10\n"),
        ["fit", "{data}", "-k", 2, "-o", "out.npz"],
        "nan.csv: empty or NaN cells in columns 'a', 'b' at lines 3, 5",
    ),
    "ragged rows": (
        lambda d: _write(d / "ragged.csv", "a,b\n1,2\n3,4\n5,6,7\n8,9\n"),
        ["score", "{data}", "-m", "model.npz", "-o", "out.csv"],
        "ragged.csv: line 4 has 3 fields but the header has 2",
    ),
    "model for a different number of features": (
        lambda d: _write(d / "three.csv", "1,2,3\n4,5,6\n"),
        ["predict", "{data}", "-m", "model.npz", "-o", "out.csv"],
        "three.csv: has 3 column(s) but model.npz was fitted on 2 feature(s)",
    ),
    "too few rows for K": (
        lambda d: _write(d / "small.csv", "1,2\n3,4\n5,7\n"),
        ["fit", "{data}", "-k", 5, "-o", "out.npz"],
        "small.csv: 3 row(s) are too few to fit 5 component(s)",
    ),
}


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_gives_one_line_error_and_no_output(tmp_path, case):
    make_data, args, message = BAD_CASES[case]
    data = make_data(tmp_path)
    two_features = gm.GaussianMixture.from_parameters([1.0], [[0.0, 0.0]], [[[1.0, 0.0], [0.0, 1.0]]])
    gm.save(two_features, tmp_path / "model.npz", feature_names=["a", "b"])
    good_output = b"precious,results\n1,2\n"
    (tmp_path / "out.csv").write_bytes(good_output)
    before = set(os.listdir(tmp_path))

    result = run(*[data if a == "{data}" else a for a in args], cwd=tmp_path)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("gaussmix: error: ")
    assert message in lines[0]
    assert set(os.listdir(tmp_path)) == before  # no output, no temporary files
    assert (tmp_path / "out.csv").read_bytes() == good_output  # a good file is never replaced


# ---------------------------------------------------------------------- in-process checks
@pytest.fixture
def runner(tmp_path, monkeypatch):
    """Click's in-process runner, working in a fresh temporary directory."""
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.fixture
def mixed_csv(tmp_path):
    """Named numeric columns around a text column, 200 rows from two clusters."""
    rng = np.random.default_rng(SEED)
    X = np.vstack([rng.normal(0, 1, (100, 2)), rng.normal(8, 1, (100, 2))])
    lines = ["id,height,name,weight"]
    lines += [f"{i},{x:.17g},row{i},{w:.17g}" for i, (x, w) in enumerate(X)]
    path = tmp_path / "people.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, X


def test_help_version_and_examples(runner):
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and gm.__version__ in result.output
    top = runner.invoke(cli, ["--help"])
    for verb in ("demo", "generate", "fit", "predict", "score", "select", "plot"):
        assert verb in top.output
    assert "gaussmix fit data.csv" in top.output
    for verb in ("generate", "fit", "predict", "score", "select", "plot"):
        page = runner.invoke(cli, [verb, "--help"])
        assert page.exit_code == 0 and "Example" in page.output, verb


@pytest.mark.parametrize(
    "args, complaint",
    [
        (["fit", "x.csv", "-k", "banana", "-o", "m.npz"], "not a number, a range"),
        (["fit", "x.csv", "-k", "0", "-o", "m.npz"], ">= 1"),
        (["predict", "x.csv", "-m", "m.npz", "-o", "out.xlsx"], "unsupported file type"),
        (["predict", "x.csv", "-m", "m.npz", "-o", "no/such/dir/out.csv"], "does not exist"),
        (["score", "x.csv", "-m", "m.npz", "-o", "o.csv", "--contamination", "0.1",
          "--threshold", "-3"], "not both"),
        (["plot", "x.csv", "-m", "m.npz", "-o", "fit.txt"], ".png"),
        (["fit", "x.csv", "--covariance", "round", "-o", "m.npz"], "round"),
    ],
)
def test_bad_usage_exits_with_2(runner, tmp_path, args, complaint):
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert complaint in result.output


def test_columns_pick_numeric_ones_and_predict_finds_them_by_name(runner, tmp_path, mixed_csv):
    path, X = mixed_csv
    # the text column is skipped, the id column identifies rows: neither is fitted
    auto = runner.invoke(cli, ["fit", str(path), "-k", "2", "-o", "m.npz"])
    assert auto.exit_code == 0, auto.output
    assert "skipped text column 'name'" in auto.output
    assert "identified by column 'id'" in auto.output
    assert read_model("m.npz").feature_names == ["height", "weight"]
    fitted = runner.invoke(
        cli, ["fit", str(path), "-k", "2", "--columns", "height,weight", "-o", "m.npz"]
    )
    assert fitted.exit_code == 0, fitted.output
    model = read_model("m.npz")
    assert model.feature_names == ["height", "weight"]
    # columns in another order, other columns around: found by name
    with open("shuffled.csv", "w") as f:
        f.write("weight,comment,height\n")
        f.writelines(f"{w:.17g},hello,{h:.17g}\n" for h, w in X)
    result = runner.invoke(cli, ["predict", "shuffled.csv", "-m", "m.npz", "-o", "p.csv"])
    assert result.exit_code == 0, result.output
    labels = read_columns("p.csv")["label"]
    np.testing.assert_array_equal(labels, model.model.predict(X))
    # positions work too, and a headerless file is matched by position
    np.savetxt("plain.csv", X, delimiter=",")
    result = runner.invoke(cli, ["predict", "plain.csv", "-m", "m.npz", "-o", "q.parquet"])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(read_columns("q.parquet")["label"], labels)
    result = runner.invoke(
        cli, ["fit", str(path), "-k", "2", "--columns", "1,3", "-o", "m2.npz", "-q"]
    )
    assert result.exit_code == 0 and result.output == ""
    np.testing.assert_array_equal(gm.load("m2.npz").means_, model.model.means_)


def test_score_threshold_and_stdout_output(runner, tmp_path, mixed_csv):
    path, X = mixed_csv
    fitted = runner.invoke(cli, ["fit", str(path), "-k", "2", "--columns", "height,weight",
                                 "--covariance", "diag", "-o", "m.npz"])
    assert fitted.exit_code == 0, fitted.output
    result = runner.invoke(cli, ["score", str(path), "-m", "m.npz", "-o", "-",
                                 "--threshold", "-4"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    # the file's unique 'id' column leads, so the scores join back to the rows
    assert lines[0] == "id,log_density,anomaly" and len(lines) == 201
    assert [int(line.split(",")[0]) for line in lines[1:]] == list(range(200))
    values = np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]])
    np.testing.assert_allclose(values[:, 0], gm.load("m.npz").score_samples(X), rtol=1e-12)
    np.testing.assert_array_equal(values[:, 1], values[:, 0] < -4)


def test_data_files_in_other_shapes(runner, tmp_path):
    rng = np.random.default_rng(SEED)
    x = np.concatenate([rng.normal(-5, 1, 150), rng.normal(5, 1, 150)])
    np.save("one.npy", x.astype(np.float32))  # 1-D: one feature, float32 kept
    result = runner.invoke(cli, ["fit", "one.npy", "-k", "2", "-o", "m.npz"])
    assert result.exit_code == 0, result.output
    model = gm.load("m.npz")
    assert model.means_.dtype == np.float32
    np.testing.assert_allclose(np.sort(model.means_[:, 0]), [-5, 5], atol=0.3)
    with open("semi.csv", "w") as f:  # semicolons, no header
        f.writelines(f"{v:.17g};{-v:.17g}\n" for v in x)
    result = runner.invoke(cli, ["fit", "semi.csv", "-k", "2", "-o", "m2.npz"])
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.sort(gm.load("m2.npz").means_[:, 0]), [-5, 5], atol=0.3)
    np.save("text.npy", np.array(["a", "b"]))
    result = runner.invoke(cli, ["fit", "text.npy", "-k", "1", "-o", "m3.npz"])
    assert result.exit_code == 1 and "text.npy: has dtype <U1" in result.output
    assert not os.path.exists("m3.npz")


def test_constant_column_cannot_be_standardized(runner, tmp_path):
    with open("flat.csv", "w") as f:
        f.write("a,b\n" + "".join(f"{i},1\n" for i in range(20)))
    result = runner.invoke(cli, ["fit", "flat.csv", "-k", "1", "--standardize", "-o", "m.npz"])
    assert result.exit_code == 1
    assert "flat.csv: column 'b' is constant" in result.output
    assert not os.path.exists("m.npz")


def test_model_file_that_is_a_pickle_is_refused_without_running_it(runner, tmp_path):
    marker = tmp_path / "code-ran"
    np.savetxt("good.csv", np.eye(3), delimiter=",")
    with open("evil.npz", "wb") as f:
        pickle.dump(_Exploit(str(marker)), f)
    result = runner.invoke(cli, ["predict", "good.csv", "-m", "evil.npz", "-o", "out.csv"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "gaussmix: error: evil.npz: not a gaussmix model file (not a ZIP/.npz archive; "
        "truncated or a different format)."
    )
    assert not os.path.exists("out.csv")
    assert not marker.exists()


def test_convergence_warning_is_one_line_and_the_model_is_still_saved(runner, mixed_csv):
    path, _ = mixed_csv
    result = runner.invoke(cli, ["fit", str(path), "-k", "3", "--columns", "height,weight",
                                 "--max-iter", "1", "--tol", "0", "-o", "m.npz"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("gaussmix: warning:")]
    assert len(warnings) == 1 and "did not converge" in warnings[0]
    assert "did not converge (raise --max-iter or --tol)" in result.stdout
    assert gm.load("m.npz").converged_ is False


def test_generate_to_stdout_and_without_labels(runner):
    result = runner.invoke(cli, ["generate", "-n", "50", "-k", "2", "-d", "3", "-o", "-", "-q"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "x0,x1,x2" and len(lines) == 51
    result = runner.invoke(cli, ["generate", "-n", "50", "-o", "d.parquet", "--no-labels", "-q"])
    assert result.exit_code == 0 and sorted(os.listdir()) == ["d.parquet"]


def test_select_table_plot_and_best_model_match_select_model(runner, mixed_csv):
    path, X = mixed_csv
    result = runner.invoke(cli, [
        "select", str(path), "-k", "1-3", "--covariance", TWO_TYPES[0],
        "--covariance", TWO_TYPES[1],
        "--columns", "height,weight", "--standardize", "-o", "sel.csv", "--plot", "sel.png",
        "--save-best", "best.npz",
    ])
    assert result.exit_code == 0, result.output
    assert "best K=2" in result.stdout
    table = read_columns("sel.csv")
    assert sorted(zip(table["n_components"], table["covariance_type"])) == sorted(
        (k, c) for k in (1, 2, 3) for c in TWO_TYPES
    )
    center, scale = X.mean(axis=0), X.std(axis=0)
    reference = gm.select_model((X - center) / scale, [1, 2, 3], TWO_TYPES,
                                random_state=0, progress=False)
    # criteria are reported in the units of the raw columns
    shift = 2 * len(X) * np.sum(np.log(scale))
    np.testing.assert_allclose(table["bic"], reference.table["bic"] + shift, rtol=1e-8)
    best = read_model("best.npz")
    assert best.standardized and best.feature_names == ["height", "weight"]
    assert best.model.n_components == reference.best_.n_components == 2
    raw_bic = best.raw_model().bic(X)
    assert raw_bic == pytest.approx(np.min(table["bic"]), rel=1e-8)
    from PIL import Image

    with Image.open("sel.png") as image:
        assert image.format == "PNG"


def test_fit_with_a_range_of_k_keeps_the_lowest_criterion(runner, mixed_csv):
    path, X = mixed_csv
    result = runner.invoke(cli, ["fit", str(path), "-k", "1:3", "--covariance", "diag",
                                 "--columns", "height,weight", "--criterion", "aic", "-o", "m.npz"])
    assert result.exit_code == 0, result.output
    assert "chosen by AIC among 3 candidates" in result.stdout
    model = gm.load("m.npz")
    # the grid the command runs (5 starts per candidate, seed 0): its lowest AIC
    grid = gm.select_model(X, range(1, 4), "diag", criterion="aic", n_init=5, random_state=0,
                           progress=False)
    assert model.aic(X) == pytest.approx(grid.ranking()["aic"].iloc[0], rel=1e-6)


def test_tsv_in_and_out(runner):
    import pandas as pd

    assert runner.invoke(cli, ["generate", "-n", "80", "-k", "2", "-o", "d.tsv", "-q"]).exit_code == 0
    data = pd.read_csv("d.tsv", sep="\t")
    assert list(data.columns) == ["x0", "x1"] and len(data) == 80
    assert runner.invoke(cli, ["fit", "d.tsv", "-k", "2", "-o", "m.npz", "-q"]).exit_code == 0
    result = runner.invoke(cli, ["predict", "d.tsv", "-m", "m.npz", "-o", "p.tsv", "-q"])
    assert result.exit_code == 0, result.output
    pred = pd.read_csv("p.tsv", sep="\t")
    np.testing.assert_array_equal(pred["label"], gm.load("m.npz").predict(data.to_numpy()))


@pytest.mark.parametrize(
    "text, message",
    [
        ("a,b\n1,2\n\n3\n4,5\n", "short.csv: line 4 has 1 field but the header has 2"),
        ("1,2\n3,4\n\n5,6\n,7\n8,nan\n", "short.csv: empty or NaN cells in columns 'x0', 'x1' at lines 5, 6"),
        ("a;b\n1;2\n3;inf\n", "short.csv: infinite values in column 'b' at line 3"),
        ("", "short.csv: the file is empty"),
        ("a,b\n", "short.csv: no data rows"),
        ("a,a\n1,2\n", "short.csv: duplicate column name(s) in the header: a"),
    ],
)
def test_csv_problems_are_located(runner, text, message):
    with open("short.csv", "w") as f:
        f.write(text)
    result = runner.invoke(cli, ["fit", "short.csv", "-k", "1", "-o", "m.npz"])
    assert result.exit_code == 1
    assert result.output.startswith(f"gaussmix: error: {message}")
    assert len(result.output.strip().splitlines()) == 1
    assert not os.path.exists("m.npz")


# ---------------------------------------------------------------------- files larger than memory
def _two_cluster_npy(path, n, rng):
    """Two clusters in columns of very different scales, float64, saved as ``.npy``."""
    half = n // 2
    X = np.vstack([rng.normal(size=(half, 4)), rng.normal(size=(n - half, 4)) + 4.0])
    X = X * [1.0, 10.0, 100.0, 1000.0] + [0.0, 50.0, 500.0, -5000.0]
    np.save(path, X)
    return X


def test_fit_standardize_on_npy_equals_fitting_the_standardized_array(runner, tmp_path):
    X = _two_cluster_npy(tmp_path / "big.npy", 4000, np.random.default_rng(SEED))
    result = runner.invoke(cli, ["fit", "big.npy", "-k", "2", "--standardize", "-o", "m.npz",
                                 "--quiet", "--seed", "0"])
    assert result.exit_code == 0, result.output
    saved = read_model(tmp_path / "m.npz")
    center, scale = X.mean(axis=0), X.std(axis=0)
    np.testing.assert_allclose(saved.center, center, rtol=1e-12)
    np.testing.assert_allclose(saved.scale, scale, rtol=1e-12)
    ref = gm.GaussianMixture(2, random_state=0).fit((X - center) / scale)
    np.testing.assert_allclose(saved.model.means_, ref.means_, atol=1e-10)
    np.testing.assert_allclose(saved.model.covariances_, ref.covariances_, atol=1e-10)
    assert not list(tmp_path.glob(".gaussmix-*")) and not list(tmp_path.glob("tmp*"))


def _cli_peak(runner, args):
    """Peak traced NumPy/Python memory of one in-process command."""
    import tracemalloc

    tracemalloc.start()
    try:
        result = runner.invoke(cli, args)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("command", ["fit", "predict", "score"])
def test_standardized_big_npy_is_never_copied_into_memory(runner, tmp_path, monkeypatch, command):
    """Peak memory of fit --standardize / predict / score on a memory-mapped file does not grow
    with its size (blocks of 4,000 rows here instead of 65,536 so that small files have many).
    fit's own working memory (~30 MB: its start, chunk buffers) is larger than a small file, so
    its files are larger."""
    from gaussmix.cli import options as cli_options

    monkeypatch.setattr(cli_options, "BLOCK_ROWS", 4000)
    rng = np.random.default_rng(SEED)
    peaks = {}
    sizes = (200_000, 1_400_000) if command == "fit" else (40_000, 160_000)
    for n in sizes:
        _two_cluster_npy(tmp_path / f"d{n}.npy", n, rng)
        if command != "fit":  # a standardized model to apply
            X = np.load(tmp_path / f"d{n}.npy")
            center, scale = X.mean(axis=0), X.std(axis=0)
            model = gm.GaussianMixture(2, random_state=0).fit((X[:4000] - center) / scale)
            gm.save(model, tmp_path / f"m{n}.npz", center=center, scale=scale)
            del X
            args = [command, f"d{n}.npy", "-m", f"m{n}.npz", "-o", f"out{n}.npy", "--quiet"]
        else:
            args = ["fit", f"d{n}.npy", "-k", "2", "--standardize", "-o", f"m{n}.npz",
                    "--quiet", "--max-iter", "3"]
        result, peaks[n] = _cli_peak(runner, args)
        assert result.exit_code == 0, result.output
    grown = peaks[sizes[1]] - peaks[sizes[0]]
    data_grown = (sizes[1] - sizes[0]) * 4 * 8
    # outputs the command must hold whole: none for fit/predict, the log-densities for score
    kept = {"fit": 0, "predict": 0, "score": (sizes[1] - sizes[0]) * 8 * 2}[command]
    assert grown < kept + 0.25 * data_grown, (peaks, data_grown)


@pytest.mark.parametrize("ext", ["csv", "tsv", "parquet", "npy"])
def test_predict_streams_blocks_into_every_format(runner, tmp_path, monkeypatch, ext):
    """Blocks of rows written one after the other read back as the one-shot prediction."""
    from gaussmix.cli import options as cli_options

    monkeypatch.setattr(cli_options, "BLOCK_ROWS", 70)
    X = _two_cluster_npy(tmp_path / "d.npy", 1000, np.random.default_rng(SEED))
    model = gm.GaussianMixture(2, random_state=0).fit(X)
    gm.save(model, tmp_path / "m.npz")
    result = runner.invoke(cli, ["predict", "d.npy", "-m", "m.npz", "-o", f"p.{ext}"])
    assert result.exit_code == 0, result.output
    proba = model.predict_proba(X)
    if ext == "tsv":
        import pandas as pd

        got = pd.read_csv(tmp_path / "p.tsv", sep="\t")
        got = {name: got[name].to_numpy() for name in got.columns}
    else:
        got = read_columns(tmp_path / f"p.{ext}")
    if ext == "npy":
        got = {"label": got[0], "probability": got[1], "p_0": got[2], "p_1": got[3]}
    assert len(got["label"]) == 1000
    np.testing.assert_array_equal(got["label"], proba.argmax(axis=1))
    np.testing.assert_allclose(got["p_1"], proba[:, 1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got["probability"], proba.max(axis=1), rtol=1e-12)
    counts = np.bincount(proba.argmax(axis=1), minlength=2)
    assert f"rows per component: {counts[0]}, {counts[1]}" in result.output


def test_no_disk_room_for_the_standardized_copy_is_one_clear_error(runner, tmp_path, monkeypatch):
    import errno

    _two_cluster_npy(tmp_path / "big.npy", 1000, np.random.default_rng(SEED))

    def full_disk(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full_disk, raising=False)
    result = runner.invoke(cli, ["fit", "big.npy", "-k", "2", "--standardize", "-o", "m.npz"])
    assert result.exit_code == 1
    message = result.output.strip()
    assert "\n" not in message and "Traceback" not in message
    assert "big.npy" in message and "no room for a standardized copy" in message
    assert "No space left on device" in message and "--standardize" in message
    assert not (tmp_path / "m.npz").exists()
