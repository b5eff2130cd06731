"""``gaussmix explore`` without a browser: the session (the library's EM, phase by phase), the
columns the pictures show, CSV loading, the offline page and the command line."""

import os
import re
import socket
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import gaussmix as gm
from _helpers import MODELS
from gaussmix.apps.explore import frames
from gaussmix.apps.explore.data import read_csv_columns
from gaussmix.apps.explore.session import START_METHODS, ExplorerSession
from gaussmix.cli import cli
from gaussmix.engine import covariance

SEED = 20261125
TYPES = [name for name in covariance.names() if name not in covariance.ONE_DIMENSIONAL]


@pytest.fixture
def session():
    return ExplorerSession.generated(n_groups=3, overlap=0.05, n_samples=240, seed=SEED % 1000)


def _non_decreasing(bounds, slack=1e-9):
    steps = np.diff(bounds)
    return bool(np.all(steps >= -slack * np.maximum(1.0, np.abs(bounds[1:]))))


# ---------------------------------------------------------------------- the session
def test_phases_alternate_and_the_lower_bound_never_decreases(session):
    assert (session.phase, session.iteration, session.lower_bounds) == ("start", 0, [])
    assert session.responsibilities is None
    means0 = session.parameters()[1]
    assert session.advance() == "E"
    np.testing.assert_array_equal(session.parameters()[1], means0)  # the E-step moves nothing
    resp = session.responsibilities.copy()
    assert session.advance() == "M"
    assert session.iteration == 1
    np.testing.assert_array_equal(session.responsibilities, resp)  # the M-step recolours nothing
    assert not np.allclose(session.parameters()[1], means0)  # ... but moves the means
    assert session.run(max_iter=300)
    assert len(session.lower_bounds) == session.iteration
    assert _non_decreasing(session.lower_bounds)
    assert session.lower_bounds[-1] > session.lower_bounds[0]


def test_responsibilities_are_probabilities(session):
    session.e_step()
    np.testing.assert_array_equal(session.responsibilities,
                                  session.model.predict_proba(session.X))
    session.m_step()
    resp = session.responsibilities
    assert resp.shape == (len(session.X), session.n_components)
    assert np.all((resp >= 0) & (resp <= 1))
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, atol=1e-12)
    # shown as text, the probabilities of each point still add up to one
    columns = frames.point_columns(session.frame(), session.X)
    total = sum(np.array(columns[f"p{k}"], dtype=float) for k in range(session.n_components))
    np.testing.assert_allclose(total, 1.0, atol=2e-3)


@pytest.mark.parametrize("start", ["k-means", "hierarchical"])
def test_the_run_is_the_estimators_own_fit(session, start):
    """Stepping reproduces ``GaussianMixture.fit`` exactly: same iterations, bounds, means."""
    session.configure(start=start, seed=3)
    session.run(max_iter=500)
    model = gm.GaussianMixture(3, init_params=START_METHODS[start], random_state=3,
                               tol=session.tol).fit(session.X)
    assert session.iteration == model.n_iter_
    assert session.converged == model.converged_
    np.testing.assert_allclose(session.lower_bounds, model.lower_bounds_, rtol=1e-12)
    np.testing.assert_allclose(session.model.means_, model.means_, rtol=1e-10)


def test_reset_returns_to_the_same_start(session):
    first = session.parameters()[1].copy()
    session.step()
    session.step()
    session.reset()
    assert (session.phase, session.iteration, session.lower_bounds) == ("start", 0, [])
    assert session.responsibilities is None and not session.converged
    np.testing.assert_array_equal(session.parameters()[1], first)
    assert session.caption().startswith("Start:")


def test_changing_k_restarts_with_k_components(session):
    session.step()
    session.configure(n_components=5)
    assert session.iteration == 0 and session.phase == "start"
    assert session.parameters()[1].shape == (5, 2)
    session.step()
    assert session.responsibilities.shape == (len(session.X), 5)
    assert len(frames.ellipse_columns(session.frame())["xs"]) == 5 * 3
    with pytest.raises(ValueError, match="K must be"):
        session.configure(n_components=0)
    with pytest.raises(ValueError, match="start must be"):
        session.configure(start="psychic")
    with pytest.raises(ValueError):
        session.configure(covariance_type="no such type")


@pytest.mark.parametrize("covariance_type", TYPES)
def test_every_covariance_type_steps_and_climbs(covariance_type):
    session = ExplorerSession.generated(n_groups=2, n_samples=150, seed=7,
                                        covariance_type=covariance_type)
    session.run(max_iter=60)
    assert session.iteration >= 1 and not session.message
    assert _non_decreasing(session.lower_bounds)
    weights, means, covs = session.parameters()
    assert means.shape == (2, 2) and covs.shape == (2, 2, 2)
    np.testing.assert_allclose(weights.sum(), 1.0)
    assert covariance_type in session.covariance_description


def test_too_few_points_wait_for_more():
    session = ExplorerSession([[0.0, 0.0], [1.0, 1.0]], n_components=3)
    assert not session.ready and "at least 4" in session.message
    assert session.step() == [] and session.advance() == "none"
    session.add_points([[5.0, 5.0], [6.0, 4.0], [0.5, 0.2]])
    assert session.ready and len(session.X) == 5
    assert session.step() == ["E", "M"]
    session.set_data(np.empty((0, 2)))
    assert not session.ready and session.frame().phase == "none"
    with pytest.raises(ValueError, match="two columns"):
        session.set_data(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="finite"):
        session.set_data([[0.0, np.nan]])


def test_old_faithful_and_bic():
    session = ExplorerSession(n_components=2)
    session.load_old_faithful()
    assert session.X.shape == (272, 2) and "eruption" in session.names[0]
    ks, bic, best = session.bic(max_components=4)
    assert ks == [1, 2, 3, 4] and best in ks
    assert bic[ks.index(best)] == np.nanmin(bic)


def test_recorded_frames_follow_the_run(session):
    recorded = session.record(max_iter=5)
    assert [f.phase for f in recorded[:5]] == ["start", "E", "M", "E", "M"]
    assert recorded[-1].iteration == 5 or recorded[-1].converged
    assert [f.iteration for f in recorded if f.phase == "M"] == list(
        range(1, recorded[-1].iteration + 1))
    assert all(f.caption for f in recorded)
    assert "E-step: each point asks every group" in recorded[1].caption


# ---------------------------------------------------------------------- what is drawn
def test_ellipses_are_the_1_2_3_sd_contours(session):
    session.step()
    frame = session.frame()
    columns = frames.ellipse_columns(frame)
    assert columns["sd"] == [3.0, 2.0, 1.0] * 3  # largest first, for every component
    for xs, ys, sd, group in zip(columns["xs"], columns["ys"], columns["sd"],
                                 columns["component"]):
        k = int(group.split()[1]) - 1
        d = np.column_stack([xs, ys]) - frame.means[k]
        mahalanobis = np.sqrt(np.einsum("ni,ij,nj->n", d, np.linalg.inv(frame.covariances[k]), d))
        np.testing.assert_allclose(mahalanobis, sd, rtol=1e-9)


def test_point_colours_blend_and_start_grey(session):
    start = frames.point_columns(session.frame(), session.X)
    assert set(start["color"]) == {frames.UNASKED} and set(start["p0"]) == {"-"}
    session.step()
    shown = frames.point_columns(session.frame(), session.X)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in shown["color"])
    assert len(set(shown["color"])) > 3  # blended, not three flat colours
    assert min(shown["alpha"]) >= 0.15 and max(shown["alpha"]) <= 0.85
    assert "#ff0000" not in frames.palette(10) and len(set(frames.palette(10))) == 10
    status = frames.status_html(session.frame())
    assert 'class="gm-lower-bound">' in status and "M-step" in status


# ---------------------------------------------------------------------- CSV files
CSV = b"name,height,weight,age\na,1.50,50,30\nb,1.70,65,x\nc,1.80,80,41\nd,,70,50\ne,1.6,58,22\n"


def test_csv_columns_by_name_or_position_and_dropped_rows(tmp_path):
    table = read_csv_columns(CSV)
    assert table.names == ("height", "weight") and table.columns == ["height", "weight", "age"]
    assert table.X.shape == (4, 2) and "1 row(s)" in table.note
    assert read_csv_columns(CSV, 3, "weight").names == ("age", "weight")
    path = tmp_path / "semi.csv"
    path.write_text("u;v\n1;2\n3;4\n5;7\n")
    np.testing.assert_array_equal(read_csv_columns(path).X, [[1, 2], [3, 4], [5, 7]])
    session = ExplorerSession(n_components=2)
    session.load_csv(CSV, "weight", "age", label="people.csv")
    assert session.names == ("weight", "age") and session.X.shape == (4, 2)
    assert "people.csv" in session.label


@pytest.mark.parametrize("content, x, y, message", [
    (b"", None, None, "is empty"),
    (b"\xff\xfe\x00\x81\x92garbage\x00\xff", None, None, "not a text CSV|not a readable CSV"),
    (b"a,b\nx,y\nz,w\n", None, None, "at least two numeric columns"),
    (b"a,b,c\n1,2,3\n4,5,6\n", "nope", None, "no column named 'nope'"),
    (b"a,b,c\n1,2,q\n4,5,r\n", "c", None, "'c' is not numeric"),
    (b"a,b,c\n1,2,3\n4,5,6\n", "a", "a", "two different columns"),
    (b"a,b,c\n1,2,3\n4,5,6\n", 7, None, "no column 7"),
    (b"a,b\n1,\n,2\n3,4\n", None, None, "fewer than two rows"),
    (b"a,b\n", None, None, "no rows"),
])
def test_bad_csv_files_fail_with_a_clear_message_and_keep_the_data(content, x, y, message):
    session = ExplorerSession.generated(n_samples=50, seed=1)
    before = session.X.copy()
    with pytest.raises(ValueError, match=message):
        session.load_csv(content, x, y)
    np.testing.assert_array_equal(session.X, before)
    with pytest.raises(ValueError, match="no such file"):
        read_csv_columns("/no/such/file.csv")


# ---------------------------------------------------------------------- the offline page
def test_offline_page_is_self_contained_and_carries_the_run(tmp_path):
    from gaussmix.apps.explore.page import recorded_run, write_page

    session = ExplorerSession.generated(n_groups=2, n_samples=120, seed=2, n_components=2)
    path = write_page(tmp_path / "em.html", session, max_iter=40)
    text = Path(path).read_text(encoding="utf-8")
    assert not re.search(r"<(script|link)[^>]+(src|href)\s*=\s*[\"']?(https?:)?//", text,
                         re.IGNORECASE)
    assert "Bokeh" in text and "gm-ellipses" in text and "__gmRun" in text
    run = recorded_run(session, max_iter=40)
    assert len(run["frames"]) == 2 * session.iteration + 1
    assert run["lower_bound"] == session.lower_bounds
    assert len(run["points"]) == session.iteration + 1  # the start and every E-step
    assert len(run["ellipses"]) == session.iteration + 1  # the start and every M-step
    assert os.listdir(tmp_path) == ["em.html"]


def test_offline_page_errors_leave_no_file(tmp_path, monkeypatch):
    from gaussmix.apps.explore import page

    session = ExplorerSession.generated(n_samples=60, seed=1)
    with pytest.raises(ValueError, match="end in .html"):
        page.write_page(tmp_path / "em.png", session)
    with pytest.raises(ValueError, match="does not exist"):
        page.write_page(tmp_path / "missing" / "em.html", session)
    with pytest.raises(ValueError, match="Nothing to record"):
        page.write_page(tmp_path / "em.html", ExplorerSession(n_components=2))
    real = page.atomic_write

    def failing(path, write):  # the disk fills up half way through the real atomic write
        def broken(f):
            write(f)
            raise OSError(28, "No space left on device")

        real(path, broken)

    monkeypatch.setattr(page, "atomic_write", failing)
    with pytest.raises(OSError, match="No space left"):
        page.write_page(tmp_path / "em.html", session, max_iter=2)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------- the command line
def _invoke(*args):
    result = CliRunner().invoke(cli, ["explore", *map(str, args)])
    return result.exit_code, result.output


def test_cli_writes_the_offline_page(tmp_path):
    page = tmp_path / "faithful.html"
    code, output = _invoke("--html", page, "--data", "old-faithful", "-k", "2", "--max-iter", 5)
    assert code == 0, output
    assert page.stat().st_size > 100_000 and "wrote the explorer page" in output


def test_cli_reads_csv_columns_for_the_page(tmp_path):
    data = tmp_path / "people.csv"
    data.write_bytes(CSV)
    page = tmp_path / "p.html"
    code, output = _invoke("--html", page, "--data", data, "--columns", "age,weight", "-k", 1)
    assert code == 0, output
    assert "age" in page.read_text(encoding="utf-8")


@pytest.mark.parametrize("args, message, code", [
    (["--port", "abc"], "must be a whole number", 2),
    (["--port", "70000"], "must be a whole number", 2),
    (["--port", "99999"], "must be a whole number", 2),
    (["--html", "{tmp}/no/page.html"], "does not exist", 2),
    (["--html", "{tmp}/page.txt"], "must end in .html", 2),
    (["--html", "{tmp}/page.html", "--data", "{tmp}/none.csv"], "no such file", 1),
    (["--html", "{tmp}/page.html", "--data", "old-faithful", "--columns", "a,b"], "--columns", 2),
    (["--html", "{tmp}/page.html", "--data", "{tmp}/bad.csv"], "numeric columns", 1),
    (["--html", "{tmp}/page.html", "--data", "{tmp}/bad.csv", "--columns", "a"],
     "two columns", 2),
])
def test_cli_errors_are_one_line_and_leave_no_file(tmp_path, args, message, code):
    """Usage errors exit 2 (click's usage message), data errors 1 (one line); no file is left."""
    (tmp_path / "bad.csv").write_text("a,b\nx,y\n")
    exit_code, output = _invoke(*[a.format(tmp=tmp_path) for a in args])
    assert exit_code == code, output
    lines = output.strip().splitlines()
    if code == 1:
        assert len(lines) == 1 and lines[0].startswith("gaussmix: error: ")
    assert message in lines[-1] and "Traceback" not in output
    assert sorted(os.listdir(tmp_path)) == ["bad.csv"]


def test_cli_unwritable_page_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        target = folder / "page.html"
        if os.access(folder, os.W_OK):  # root writes anywhere, but /sys refuses even root
            target = Path("/sys/gaussmix-explore-test.html")
            if not os.path.isdir("/sys"):
                pytest.skip("no folder refuses this user's writes")
        code, output = _invoke("--html", target, "-n", 50, "--max-iter", 2)
        lines = output.strip().splitlines()
        assert code == 1 and len(lines) == 1 and lines[0].startswith("gaussmix: error: ")
        assert re.search(r"not writable|Permission denied|Read-only", lines[0])
        assert not target.exists() and os.listdir(folder) == []
    finally:
        folder.chmod(0o700)


def test_cli_busy_port_and_a_warning_for_other_hosts():
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, output = _invoke("--host", "0.0.0.0", "--port", port, "--no-browser", "-n", 50)
    assert code == 1
    warning, error = output.strip().splitlines()
    assert warning.startswith("gaussmix: warning: --host 0.0.0.0") and "password" in warning
    assert error.startswith("gaussmix: error: cannot listen on 0.0.0.0:") and "--port" in error


# ---------------------------------------------------------------------- the app, unserved
def test_app_widgets_drive_the_session():
    from gaussmix.apps.explore.app import Explorer, covariance_options

    assert set(covariance_options().values()) >= set(MODELS)
    app = Explorer(ExplorerSession.generated(n_samples=80, seed=4))
    app.k.value = 4
    assert app.session.n_components == 4
    assert len(app.figs.sources["ellipses"].data["xs"]) == 12
    assert "p3" in app.figs.sources["points"].data and "@p3" in app.figs.hover.tooltips
    app.covariance.value = "EEV"
    assert app.session.covariance_type == "EEV" and "EEV" in app.covariance_text.object
    app.session.step()
    app.show()
    assert 'class="gm-iteration">1<' in app.status.object
    app.reset()
    assert app.session.iteration == 0
    app.faithful_button.clicks += 1
    assert app.session.X.shape == (272, 2)
    app.data_tabs.active = 1  # Draw: drags add points instead of panning
    assert app.figs.scatter.toolbar.active_drag is None
    app.clear_button.clicks += 1
    assert len(app.session.X) == 0 and not app.session.ready
    app.csv_file.filename, app.csv_file.value = "people.csv", CSV
    assert app.session.names == ("height", "weight")
    assert app.x_column.options == ["height", "weight", "age"]
    app.x_column.value = "age"
    assert app.session.names == ("age", "weight")
    app.csv_file.value = b"just one column\n1\n2\n"
    assert app.alert.visible and "numeric columns" in app.alert.object


def test_an_upload_is_measured_by_its_bytes_or_by_the_size_the_page_sent():
    """The page sends ``OVERSIZED_MARK`` and the size in place of a file over the limit; any
    other content, a file that merely starts like the mark included, counts by its length."""
    from gaussmix.apps.explore.uploads import OVERSIZED_MARK, upload_size

    assert upload_size(OVERSIZED_MARK + b"123456789") == 123456789
    assert upload_size(b"a,b\n1,2\n") == 8
    for lookalike in (OVERSIZED_MARK, OVERSIZED_MARK + b"12x", OVERSIZED_MARK + b"-5"):
        assert upload_size(lookalike) == len(lookalike)
