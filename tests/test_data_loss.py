"""Nothing lost: every verb that writes refuses to overwrite its inputs and special files, writes
all of its outputs or none, keeps an existing output's permissions and leaves no temporary file
behind, even when it is interrupted (issue 26)."""

import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
from click.testing import CliRunner

import gaussmix as gm
from _helpers import TWO_TYPES
from gaussmix.cli import cli
from gaussmix.io import writing

SEED = 20261126


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A folder with one input of every kind the verbs read."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(SEED)
    X = np.vstack([rng.normal(0, 1, (40, 2)), rng.normal(6, 1, (40, 2))])
    np.savetxt(folder / "data.csv", X, delimiter=",", header="a,b", comments="")
    gm.save(gm.GaussianMixture(2, random_state=0).fit(X), folder / "model.npz",
            feature_names=["a", "b"])
    pixels = np.zeros((12, 12, 3), np.uint8)
    pixels[:, 6:] = 200
    pixels[::2] += 20
    Image.fromarray(pixels).save(folder / "photo.png")
    audio = min(gm.datasets.load_speakers()["path"])
    shutil.copy(audio, folder / "speech.flac")
    return folder


# verb: (arguments with {out} for the output checked here and {in} for an input it reads,
#        the output's extension, the input it reads)
VERBS = {
    "generate": (["generate", "-n", "50", "-k", "2", "--no-labels", "-o", "{out}"], ".csv", None),
    "fit": (["fit", "{in}", "-k", "2", "-o", "{out}", "-q"], ".npz", "data.csv"),
    "select": (["select", "{in}", "-k", "1-2", "--covariance", "full", "-o", "{out}", "-q"],
               ".csv", "data.csv"),
    "predict": (["predict", "data.csv", "-m", "{in}", "-o", "{out}"], ".csv", "model.npz"),
    "score": (["score", "{in}", "-m", "model.npz", "-o", "{out}"], ".csv", "data.csv"),
    "plot": (["plot", "{in}", "-m", "model.npz", "-o", "{out}"], ".png", "data.csv"),
    "outliers": (["outliers", "{in}", "-k", "1", "--covariance", "full", "-o", "{out}"], ".csv",
                 "data.csv"),
    "segment": (["segment", "{in}", "-k", "2", "-o", "{out}"], ".png", "photo.png"),
    "speaker-ubm": (["speaker", "ubm", "{in}", "-k", "2", "-o", "{out}", "-q"], ".npz",
                    "speech.flac"),
    "explore-html": (["explore", "--html", "{out}", "--data", "{in}", "--max-iter", "2"], ".html",
                     "data.csv"),
}


def _invoke(folder, args, out, source=None):
    args = [a.format(out=out, **{"in": source}) for a in args]
    old = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(cli, args)
    finally:
        os.chdir(old)


def _snapshot(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))
            if (folder / name).is_file() and not (folder / name).is_symlink()}


@pytest.fixture
def workdir(inputs, tmp_path):
    for name in os.listdir(inputs):
        shutil.copy(inputs / name, tmp_path / name)
    return tmp_path


def _no_temporaries(folder):
    left = [name for name in os.listdir(folder) if name.startswith(".gaussmix-")]
    assert not left, left


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
@pytest.mark.parametrize("verb", [v for v in VERBS if VERBS[v][2]])
def test_an_output_that_is_an_input_is_refused_before_reading(workdir, verb, link):
    args, ext, source = VERBS[verb]
    if link == "same":
        if not source.endswith(ext):
            pytest.skip("the input cannot be named as this output")
        out = source
    else:
        out = "victim" + ext
        if link == "symlink":
            os.symlink(source, workdir / out)
        else:
            os.link(workdir / source, workdir / out)
    before = _snapshot(workdir)
    result = _invoke(workdir, args, out, source)
    assert result.exit_code == 2, result.output
    assert "refusing to overwrite" in result.output and "Traceback" not in result.output
    assert _snapshot(workdir) == before
    _no_temporaries(workdir)


@pytest.mark.parametrize("kind", ["directory", "fifo", "device"])
@pytest.mark.parametrize("verb", list(VERBS))
def test_an_output_that_is_not_a_regular_file_is_refused(workdir, verb, kind):
    args, ext, source = VERBS[verb]
    out = "special" + ext
    if kind == "directory":
        (workdir / out).mkdir()
    elif kind == "fifo":
        os.mkfifo(workdir / out)
    else:  # a link to a device, with the extension the verb wants
        os.symlink(os.devnull, workdir / out)
    before = _snapshot(workdir)
    result = _invoke(workdir, args, out, source)
    assert result.exit_code == 2, result.output
    assert out in result.output and "regular files" in result.output
    assert _snapshot(workdir) == before
    _no_temporaries(workdir)


@pytest.mark.parametrize("verb", list(VERBS))
def test_an_existing_output_keeps_its_mode_and_a_new_one_follows_the_umask(workdir, verb):
    args, ext, source = VERBS[verb]
    old = os.umask(0o027)
    try:
        fresh = _invoke(workdir, args, "new" + ext, source)
        assert fresh.exit_code == 0, fresh.output
        assert (workdir / f"new{ext}").stat().st_mode & 0o777 == 0o640
        (workdir / f"private{ext}").write_bytes(b"old")
        os.chmod(workdir / f"private{ext}", 0o600)
        again = _invoke(workdir, args, "private" + ext, source)
        assert again.exit_code == 0, again.output
        assert (workdir / f"private{ext}").stat().st_mode & 0o777 == 0o600
        assert (workdir / f"private{ext}").read_bytes() != b"old"
    finally:
        os.umask(old)
    _no_temporaries(workdir)


class _FailingTemporaries:
    """``tempfile`` for gaussmix.io.writing whose ``fail_at``-th temporary file finds the disk
    full; counts the temporaries asked for."""

    def __init__(self, fail_at=None):
        self.calls, self.fail_at = 0, fail_at

    def mkstemp(self, **kwargs):
        self.calls += 1
        if self.calls == self.fail_at:
            raise OSError(errno.ENOSPC, "No space left on device",
                          os.path.join(kwargs["dir"], ".gaussmix-x.tmp"))
        return tempfile.mkstemp(**kwargs)

    def __getattr__(self, name):
        return getattr(tempfile, name)


MULTI = {
    "generate": ["generate", "-n", "60", "-k", "2", "--seed", "{seed}", "-o", "d.csv",
                 "--labels", "l.parquet", "--truth", "t.npz"],
    "select": ["select", "data.csv", "-k", "1-2", "--seed", "{seed}", "--covariance", TWO_TYPES[0],
               "--covariance", TWO_TYPES[1], "-o", "s.csv", "--plot", "s.png",
               "--save-best", "b.npz"],
    "segment": ["segment", "photo.png", "-k", "2", "--seed", "{seed}", "-o", "o.png", "--labels",
                "o.npy", "--plot", "o.svg"],
}


@pytest.mark.parametrize("verb", list(MULTI))
def test_a_failed_output_leaves_every_old_output_unchanged(workdir, monkeypatch, verb):
    counter = _FailingTemporaries()
    monkeypatch.setattr(writing, "tempfile", counter)
    first = _invoke(workdir, [a.replace("{seed}", "1") for a in MULTI[verb]], None)
    assert first.exit_code == 0, first.output
    n_outputs = counter.calls
    assert n_outputs >= 3
    before = _snapshot(workdir)
    for fail_at in (1, n_outputs):  # the first output, and the last after the others
        monkeypatch.setattr(writing, "tempfile", _FailingTemporaries(fail_at))
        failed = _invoke(workdir, [a.replace("{seed}", "2") for a in MULTI[verb]], None)
        assert failed.exit_code == 1, failed.output
        lines = failed.output.strip().splitlines()
        assert len(lines) == 1 and "No space left" in lines[0] and ".gaussmix-" not in lines[0]
        assert _snapshot(workdir) == before
        _no_temporaries(workdir)


def test_errors_name_the_users_path_not_the_temporary(tmp_path):
    target = tmp_path / "out.bin"

    def write(tmp):
        raise OSError(errno.EIO, "Input/output error", tmp)

    with pytest.raises(OSError) as caught:
        writing.atomic_write_path(target, write)
    assert caught.value.filename == str(target) and ".gaussmix-" not in str(caught.value)

    def complain(tmp):
        raise ValueError(f"cannot encode {tmp}")

    with pytest.raises(ValueError, match="out.bin") as caught:
        writing.atomic_write_path(target, complain)
    assert ".gaussmix-" not in str(caught.value)
    assert os.listdir(tmp_path) == []


def test_nested_blocks_commit_once_at_the_end(tmp_path):
    with pytest.raises(RuntimeError), writing.all_or_nothing():
        writing.atomic_write(tmp_path / "a", lambda f: f.write(b"a"))
        with writing.all_or_nothing():
            writing.atomic_write(tmp_path / "b", lambda f: f.write(b"b"))
        assert os.listdir(tmp_path) and not (tmp_path / "a").exists()
        raise RuntimeError("later failure")
    assert os.listdir(tmp_path) == []
    with writing.all_or_nothing():
        writing.atomic_write(tmp_path / "a", lambda f: f.write(b"a"))
    assert (tmp_path / "a").read_bytes() == b"a"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_write_leaves_no_temporary_file(tmp_path, signum):
    """A real process stopped while its output is being written: no ``*.tmp``, no output."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gaussmix", "generate", "-n", "3000000", "--no-labels", "-o",
         "big.csv"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not any(n.startswith(".gaussmix-") for n in os.listdir(tmp_path)):
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signum)
    code = process.wait(timeout=60)
    stderr = process.stderr.read().decode()
    assert "Traceback" not in stderr
    left = [name for name in os.listdir(tmp_path) if name.startswith(".gaussmix-")]
    assert not left, (code, stderr, left)
    if os.listdir(tmp_path):  # the signal came as the finished file was renamed into place
        with open(tmp_path / "big.csv", "rb") as f:
            assert sum(1 for _ in f) == 3_000_001
    else:
        assert code != 0


class _SignalInsideMkstemp:
    """``tempfile`` whose ``mkstemp`` is interrupted just after creating the file, as when
    SIGINT reaches a BLAS thread while the main thread holds signals back: the handler (which
    removes the temporaries) runs before ``mkstemp`` returns the file's name."""

    def mkstemp(self, **kwargs):
        tempfile.mkstemp(**kwargs)
        writing._remove_all()  # what the handler does, then it raises
        raise KeyboardInterrupt

    def __getattr__(self, name):
        return getattr(tempfile, name)


def test_a_signal_inside_mkstemp_leaves_no_temporary_file(tmp_path, monkeypatch):
    monkeypatch.setattr(writing, "tempfile", _SignalInsideMkstemp())
    with pytest.raises(KeyboardInterrupt):
        writing.write_table(tmp_path / "out.csv", {"x": np.arange(3.0)})
    assert os.listdir(tmp_path) == []
