"""Real tables on the command line (issue 27): text and ID columns, European CSVs, missing cells
in every verb, degenerate fits said in the command line's terms, machine-readable rankings.

Outputs are read back with pandas (an independent reader) and compared with the library.
"""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import gaussmix as gm
from gaussmix.cli import cli
from gaussmix.io import read_model
from gaussmix.io.tables import read_table

SEED = 20261125


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return CliRunner()


def _people(n=120, seed=SEED):
    """Two groups of (height, weight) with a name, a date, a unique customer ID and a category."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal([160, 55], [6, 5], (n // 2, 2)),
                   rng.normal([185, 90], [6, 7], (n - n // 2, 2))])
    frame = pd.DataFrame({
        "customer_id": [f"C{1000 + 7 * i}" for i in range(n)],
        "height": X[:, 0], "name": [f"person {i}" for i in range(n)],
        "weight": X[:, 1], "joined": [f"2024-01-{1 + i % 28:02d}" for i in range(n)],
        "group": ["a" if i % 3 else "b" for i in range(n)],
    })
    return frame, X


def _invoke(runner, *args):
    result = runner.invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_text_columns_are_skipped_and_named_and_the_id_column_joins_back(runner):
    frame, X = _people()
    frame.to_csv("people.csv", index=False)
    fitted = _invoke(runner, "fit", "people.csv", "-k", "2", "-o", "m.npz")
    assert "skipped text columns 'name', 'joined', 'group'" in fitted.output
    assert "identified by column 'customer_id'" in fitted.output
    model = read_model("m.npz")
    assert model.feature_names == ["height", "weight"]
    shuffled = frame.sample(frac=1.0, random_state=1)  # other row order: the ID says which is which
    shuffled.to_csv("later.csv", index=False)
    _invoke(runner, "predict", "later.csv", "-m", "m.npz", "-o", "labels.csv")
    out = pd.read_csv("labels.csv")
    assert list(out.columns[:2]) == ["customer_id", "label"] and len(out) == len(frame)
    assert list(out["customer_id"]) == list(shuffled["customer_id"])  # input order kept
    joined = frame.merge(out, on="customer_id")
    np.testing.assert_array_equal(joined["label"], model.model.predict(X))
    for verb, extra in (("score", ()), ("outliers", ("--contamination", "0.05"))):
        args = [verb, "people.csv", *(("-m", "m.npz") if verb == "score" else ()), *extra]
        _invoke(runner, *args, "-o", f"{verb}.csv")
        written = pd.read_csv(f"{verb}.csv")
        assert list(written["customer_id"]) == list(frame["customer_id"])


def test_id_option_picks_names_positions_or_none_and_refuses_repeated_ids(runner):
    frame, _ = _people(60)
    frame.to_csv("people.csv", index=False)
    _invoke(runner, "fit", "people.csv", "-k", "1", "-o", "m.npz")
    _invoke(runner, "predict", "people.csv", "-m", "m.npz", "--id", "name", "-o", "a.csv")
    assert pd.read_csv("a.csv").columns[0] == "name"
    _invoke(runner, "predict", "people.csv", "-m", "m.npz", "--id", "none", "-o", "b.csv")
    assert pd.read_csv("b.csv").columns[0] == "label"
    refused = runner.invoke(cli, ["predict", "people.csv", "-m", "m.npz", "--id", "group",
                                  "-o", "c.csv"])
    assert refused.exit_code == 1 and "'group' has empty or repeated values" in refused.output


def test_a_numeric_column_with_a_typo_is_reported_not_skipped(tmp_path):
    path = tmp_path / "typo.csv"
    path.write_text("a,b\n1,2\n3,4\n5,oops\n7,8\n")
    with pytest.raises(ValueError, match=r"column 'b' is not numeric \(line 4: 'oops'\)"):
        read_table(path)


@pytest.mark.parametrize("sep, decimal", [(";", ","), ("\t", ","), ("|", ".")])
def test_european_and_other_csv_dialects_are_detected_and_said(runner, sep, decimal):
    frame, X = _people(80)
    frame.to_csv("plain.csv", index=False)
    frame.to_csv("euro.csv", index=False, sep=sep, decimal=decimal)
    table = read_table("euro.csv")
    np.testing.assert_allclose(table.X, X, rtol=1e-12)
    assert table.skipped == ["name", "joined", "group"] and table.id_name == "customer_id"
    result = _invoke(runner, "fit", "euro.csv", "-k", "2", "-o", "euro.npz")
    assumed = {";": "';' between fields", "\t": "tab between fields", "|": "'|' between fields"}
    assert assumed[sep] in result.output
    assert ("decimal commas" in result.output) == (decimal == ",")
    _invoke(runner, "fit", "plain.csv", "-k", "2", "-o", "plain.npz")
    np.testing.assert_allclose(gm.load("euro.npz").means_, gm.load("plain.npz").means_,
                               rtol=1e-10)
    # told, nothing is assumed
    given = _invoke(runner, "fit", "euro.csv", "-k", "2", "--sep", sep, "--decimal", decimal,
                    "-o", "given.npz")
    assert "assumed" not in given.output


def test_a_headerless_european_file_is_read_as_numbers(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("1,5;2,25\n3,5;-4,75\n5,0;6,0\n")
    table = read_table(path)
    assert not table.has_header
    np.testing.assert_array_equal(table.X, [[1.5, 2.25], [3.5, -4.75], [5.0, 6.0]])


def _with_holes(X, rng, fraction=0.15):
    X = X.copy()
    holes = rng.random(X.shape) < fraction
    holes[holes.all(axis=1), 0] = False  # keep one cell per row
    X[holes] = np.nan
    return X


def test_standardize_with_missing_em_gives_raw_unit_densities_of_the_observed_cells(runner):
    """Regression: rows with missing cells were shifted by the log of every column's scale,
    missing columns included. Their density is that of the observed marginal, so only the
    observed columns' scales enter: compare with the same mixture expressed in raw units."""
    rng = np.random.default_rng(SEED)
    X = rng.normal([10, -200, 3000], [1.0, 30.0, 500.0], (300, 3))
    X[150:] += [5, 90, 2000]
    X = _with_holes(X, rng)
    pd.DataFrame(X, columns=["a", "b", "c"]).to_csv("holes.csv", index=False)
    _invoke(runner, "fit", "holes.csv", "-k", "2", "--missing", "em", "--standardize",
            "-o", "m.npz")
    _invoke(runner, "score", "holes.csv", "-m", "m.npz", "-o", "s.csv")
    written = pd.read_csv("s.csv")["log_density"].to_numpy()
    raw = read_model("m.npz").raw_model()  # the same mixture in the units of the columns
    assert raw.missing == "em"
    expected = raw.score_samples(X)
    partial = np.isnan(X).any(axis=1)
    assert partial.sum() > 50
    np.testing.assert_allclose(written, expected, rtol=1e-9, atol=1e-9)


def test_every_verb_handles_what_fit_handles_missing_cells(runner):
    rng = np.random.default_rng(SEED)
    X = np.vstack([rng.normal(0, 1, (100, 3)), rng.normal(5, 1, (100, 3))])
    X = _with_holes(X, rng)
    X[7] = np.nan  # a row with nothing observed: kept, and marked, in per-row outputs
    pd.DataFrame(X, columns=["a", "b", "c"]).to_csv("holes.csv", index=False)
    refused = runner.invoke(cli, ["fit", "holes.csv", "-k", "2", "-o", "m.npz"])
    assert refused.exit_code == 1 and "--missing em" in refused.output
    complete = pd.DataFrame(X).dropna()
    complete.to_csv("complete.csv", index=False, header=["a", "b", "c"])
    _invoke(runner, "fit", "complete.csv", "-k", "2", "-o", "plain.npz")
    # a model without missing values marks the rows it cannot score, keeping every row
    marked = _invoke(runner, "predict", "holes.csv", "-m", "plain.npz", "-o", "p.csv")
    labels = pd.read_csv("p.csv")["label"].to_numpy()
    assert len(labels) == len(X)
    np.testing.assert_array_equal(labels == -1, np.isnan(X).any(axis=1))
    assert "could not be scored" in marked.output and "--missing em" in marked.output
    # a missing-value model scores every row with an observed cell, in every verb
    fitted = _invoke(runner, "fit", "holes.csv", "-k", "2", "--missing", "em", "-o", "em.npz")
    assert "1 row(s) with every cell empty are left out of the fit" in fitted.output
    _invoke(runner, "predict", "holes.csv", "-m", "em.npz", "-o", "q.csv")
    labels = pd.read_csv("q.csv")["label"].to_numpy()
    np.testing.assert_array_equal(labels == -1, np.isnan(X).all(axis=1))
    _invoke(runner, "score", "holes.csv", "-m", "em.npz", "-o", "s.csv")
    drawn = _invoke(runner, "plot", "holes.csv", "-m", "em.npz", "-o", "fit.png")
    assert "are not drawn" in drawn.output
    X[7] = X[8]  # outliers fits on the rows: none may be empty
    pd.DataFrame(X, columns=["a", "b", "c"]).to_csv("rows.csv", index=False)
    _invoke(runner, "outliers", "rows.csv", "--missing", "em", "--contamination", "0.05",
            "-o", "o.csv")
    flagged = pd.read_csv("o.csv")
    assert len(flagged) == len(X) and flagged["score"].notna().all()
    assert flagged["outlier"].sum() == pytest.approx(0.05 * len(X), abs=2)


def test_a_fit_that_can_only_be_degenerate_is_warned_in_command_line_terms(runner):
    with open("five.csv", "w") as f:
        f.write("a,b\n1,2\n2,3.5\n3,3\n4,6\n5,4\n")
    result = _invoke(runner, "fit", "five.csv", "-k", "3", "-o", "m.npz")
    assert "warning" in result.output and "degenerate" in result.output
    assert "-k" in result.output and "--covariance" in result.output
    assert "reg_covar" not in result.output and "n_components" not in result.output


def test_select_ranks_degenerate_fits_last_and_prints_machine_formats(runner):
    with open("five.csv", "w") as f:
        f.write("a,b\n1,2\n2,3.5\n3,3\n4,6\n5,4\n")
    text = _invoke(runner, "select", "five.csv", "-k", "1-3").output
    statuses = [line.split()[-1] for line in text.splitlines() if line.startswith("│")]
    first_bad = next(i for i, s in enumerate(statuses) if s != "ok")
    assert "ok" not in statuses[first_bad:] and len(statuses) > first_bad
    rows = json.loads(_invoke(runner, "select", "five.csv", "-k", "1-3", "--format", "json",
                              "-q").stdout)
    order = [row["status"] for row in rows]
    assert order == sorted(order, key=lambda s: {"ok": 0, "degenerate": 1}.get(s, 2))
    csv_text = _invoke(runner, "select", "five.csv", "-k", "1-3", "--format", "csv").stdout
    assert csv_text.splitlines()[0].startswith("n_components,covariance_type,loglik")
    assert len(csv_text.splitlines()) == len(rows) + 1


def test_a_missing_extra_is_named_not_an_internal_error(runner, monkeypatch):
    import gaussmix._optional as optional

    real = optional.import_module

    def without_panel(name):
        if name.split(".")[0] in ("panel", "bokeh"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real(name)

    monkeypatch.setattr(optional, "import_module", without_panel)
    result = runner.invoke(cli, ["explore", "--no-browser"])
    assert result.exit_code == 1
    assert 'pip install "gaussmix[explore]"' in result.output
    assert "internal error" not in result.output


@pytest.mark.parametrize("columns", ["80", "60"])
def test_select_table_is_readable_on_a_narrow_terminal_numbers_never_cut(runner, monkeypatch,
                                                                        columns):
    """Regression: at 80 columns Rich cut every number (``-9.978…``) and the header names."""
    monkeypatch.setenv("COLUMNS", columns)
    with open("five.csv", "w") as f:
        f.write("a,b\n1,2\n2,3.5\n3,3\n4,6\n5,4\n")
    text = _invoke(runner, "select", "five.csv", "-k", "1-3").output
    assert "…" not in text
    rows = json.loads(_invoke(runner, "select", "five.csv", "-k", "1-3", "--format", "json",
                              "-q").stdout)
    for row in rows:  # every BIC is printed whole
        assert f"{row['bic']:.6g}" in text
    assert max(len(line) for line in text.splitlines()) <= int(columns)
