"""Command-line conventions against hostile input: usage errors exit 2, data errors exit 1 in one
line, and text from data files and paths reaches the terminal as text (issue 26)."""

import os
import subprocess
import sys

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gaussmix.cli import cli
from gaussmix.cli.options import ComponentsType, FiniteFloatRange


def _commands(group=cli, path=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def _number_options():
    for path, command in _commands():
        for param in command.params:
            if isinstance(param, click.Option) and isinstance(
                    param.type, (click.types.IntParamType, click.types.FloatParamType)):
                yield pytest.param(path, param, id=f"{' '.join(path)} {param.opts[-1]}")


@pytest.mark.parametrize("path, option", list(_number_options()))
def test_every_number_option_refuses_nonsense_as_a_usage_error(path, option):
    """nan, infinities, words and out-of-range numbers: exit 2 naming the option."""
    if isinstance(option.type, click.types.FloatParamType):
        assert isinstance(option.type, FiniteFloatRange), "every float option must be finite"
    values = ["nan", "inf", "-inf", "ten", "1e999"]
    if isinstance(option.type, click.IntRange):
        values += [str(option.type.max + 1)] if option.type.max is not None else []
        values += [str(option.type.min - 1)] if option.type.min is not None else []
    for value in values:
        result = CliRunner().invoke(cli, [*path, option.opts[-1], value])
        assert result.exit_code == 2, (value, result.output)
        assert option.opts[-1] in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("args", [
    ["explore", "--port", "99999"],
    ["explore", "--html", "page.txt"],
    ["fit", "x.csv", "-k", "1-100000000", "-o", "m.npz"],
    ["fit", "x.csv", "-k", "0", "-o", "m.npz"],
    ["score", "x.csv", "-m", "m.npz", "-o", "s.csv", "--threshold", "nan"],
    ["fit", "x.csv", "--seed", "-1", "-o", "m.npz"],
])
def test_reported_usage_errors_exit_2(tmp_path, args):
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(cli, args)
    finally:
        os.chdir(old)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def _components_options():
    for path, command in _commands():
        for param in command.params:
            if isinstance(param, click.Option) and isinstance(param.type, ComponentsType):
                yield pytest.param(path, param, id=f"{' '.join(path)} {param.opts[-1]}")


@pytest.mark.parametrize("path, option", list(_components_options()))
def test_every_k_list_is_capped_like_a_range(tmp_path, path, option):
    """-k: a list (even of repeated values) holds at most as many values as a range: exit 2."""
    limit = ComponentsType.MAX_VALUES
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        for value in (",".join(map(str, range(1, limit + 2))), ",".join(["2"] * (limit + 1)),
                      "1," * 10**6 + "1", f"1-{limit + 1}"):
            result = CliRunner().invoke(cli, [*path, "data.csv", option.opts[-1], value])
            assert result.exit_code == 2, result.output[-300:]
            assert f"at most {limit}" in result.output and "Traceback" not in result.output
            assert len(result.output) < 2000  # the message does not echo the list
    finally:
        os.chdir(old)
    converted = ComponentsType().convert(",".join(map(str, range(limit, 0, -1))), None, None)
    assert converted == list(range(1, limit + 1))


# Characters that drive a terminal: C0/C1 controls (ESC sequences, CSI, carriage return, bell),
# bidirectional overrides and isolates, line separators.
DRIVING = ["\x1b", "\x1b[2J", "\x1b]0;owned\x07", "\r", "\x07", "\x08", "\x9b31m", "\u202e",
           "\u2066", "\u200f", "\u2028", "\x00"]
hostile_text = st.lists(st.sampled_from(DRIVING + list("ab-1.,=")), min_size=1, max_size=6).map(
    "".join).filter(lambda text: _unsafe(text))


def _unsafe(text):
    return [c for c in text if c != "\n" and (ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f
                                              or c in "\u061c\u200e\u200f\u2028\u2029"
                                              or 0x202a <= ord(c) <= 0x202e
                                              or 0x2066 <= ord(c) <= 0x2069)]


# Every place a usage error of click's own repeats an argument: unknown option, command and
# sub-command, bad integer, float, choice and K values, an unexpected extra argument, an
# option's value given to a flag.
USAGE_ERRORS = [
    ["--{x}"], ["{x}"], ["fit", "--{x}"], ["speaker", "{x}"], ["generate", "-o", "a.csv", "-n", "{x}"],
    ["generate", "-o", "a.csv", "--overlap", "{x}"], ["fit", "d.csv", "--covariance", "{x}"],
    ["fit", "d.csv", "-k", "{x}"], ["generate", "-o", "a.csv", "extra{x}"],
    ["generate", "-o", "a.csv", "--no-labels={x}"], ["generate", "-o", "{x}.xyz"],
    ["fit", "d.csv", "--covar={x}"],
]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hostile_text)
def test_usage_errors_show_arguments_as_text(tmp_path, text):
    """click's own usage messages repeat the user's argument: through printable, never raw
    (the runner keeps colours, as a terminal would: nothing is stripped for us)."""
    old = os.getcwd()
    os.chdir(tmp_path)  # nothing is written, but if a case ever is, not into the checkout
    try:
        for args in USAGE_ERRORS:
            result = CliRunner().invoke(cli, [a.replace("{x}", text) for a in args], color=True)
            assert result.exit_code == 2, (args, result.output)
            assert not _unsafe(result.output), (args, result.output)
            assert "Traceback" not in result.output
    finally:
        os.chdir(old)
    assert os.listdir(tmp_path) == []


HOSTILE_NAMES = ["a[/]", "[cm]", "[bold red]x[/bold red]", "\x1b[31mred\x1b[0m", ":smile:",
                 "\x07bell", "<img src=x onerror=alert(1)>"]


def _fit_output(folder, names, file_name="data.csv"):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, len(names))) + np.arange(len(names))
    pd.DataFrame(X, columns=names).to_csv(folder / file_name, index=False)
    old = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(cli, ["fit", file_name, "-k", "1", "-o", "m.npz"])
    finally:
        os.chdir(old)


name_text = st.text(st.sampled_from(list("ab[]/=:\x1b\x07 #<>")), min_size=1, max_size=8)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(name_text, min_size=1, max_size=3, unique_by=lambda n: n.strip()))
def test_column_names_reach_the_terminal_as_text(tmp_path, names):
    names = [n for n in names if n.strip() and not n.strip().startswith("#")]
    if not names or any(n != n.strip() for n in names):
        return
    result = _fit_output(tmp_path, names)
    assert "Traceback" not in result.output and "\x1b" not in result.output
    assert "\x07" not in result.output
    if result.exit_code == 0:
        for name in names:
            shown = name.replace("\x1b", "\\x1b").replace("\x07", "\\x07")
            assert shown in result.output, (name, result.output)
    else:
        assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_column_and_file_names_are_printed_literally(tmp_path, name):
    result = _fit_output(tmp_path, [name, "b"], file_name="[i]d[cm].csv")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "[i]d[cm].csv" in result.output
    assert name.replace("\x1b", "\\x1b").replace("\x07", "\\x07") in result.output


def test_errors_show_control_characters_escaped(tmp_path):
    """A header and an option value carrying an escape sequence reach the terminal as text, in
    an error and in the notes of a run that works (the text column is taken as the rows' ID)."""
    (tmp_path / "bad.csv").write_text("a\x1b[2J,b\n1,1\n2,2\n3,5\n")
    result = CliRunner().invoke(cli, ["fit", str(tmp_path / "bad.csv"), "-k", "1", "--columns",
                                      "c\x1b[31m", "-o", str(tmp_path / "m.npz")])
    assert result.exit_code == 1 and "\x1b" not in result.output, result.output
    assert "c\\x1b[31m" in result.output and "a\\x1b[2J" in result.output
    (tmp_path / "ids.csv").write_text("a\x1b[2J,b\nx,1\ny,2\n")
    result = CliRunner().invoke(cli, ["fit", str(tmp_path / "ids.csv"), "-k", "1", "-o",
                                      str(tmp_path / "m.npz")])
    assert result.exit_code == 0 and "\x1b" not in result.output, result.output


def test_numpy_warnings_never_reach_stderr(tmp_path):
    """A run whose arithmetic divides zero by zero (scikit-learn's PCA of constant columns, the
    outlier detector's first step) prints only gaussmix's own lines."""
    np.save(tmp_path / "x.npy", np.ones((60, 3)))
    env = {**os.environ, "PYTHONWARNINGS": "default", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-m", "gaussmix", "outliers", "x.npy", "-k", "1", "--covariance",
         "diag", "-o", "flagged.csv"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "rows flagged" in lines[0], result.stderr  # the status line only


@pytest.mark.parametrize("content, message", [
    (b"\x93NUMPZ\x01\x00", "not a .npy file"),
    (b"hello world, not numbers", "not a .npy file"),
])
def test_a_damaged_npy_says_what_is_wrong(tmp_path, content, message):
    (tmp_path / "x.npy").write_bytes(content + bytes(200))
    result = CliRunner().invoke(cli, ["fit", str(tmp_path / "x.npy"), "-k", "1", "-o",
                                      str(tmp_path / "m.npz")])
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Python objects" not in result.output


def test_explore_data_the_csv_parser_cannot_read_is_a_clear_data_error(tmp_path):
    (tmp_path / "huge.csv").write_text("a" * 200_000 + ",b\n1,2\n3,4\n")  # csv.Error
    result = CliRunner().invoke(cli, ["explore", "--html", str(tmp_path / "p.html"), "--data",
                                      str(tmp_path / "huge.csv")])
    assert result.exit_code == 1 and "not a readable CSV file" in result.output, result.output
    assert "internal error" not in result.output


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "192.0.2.7"])
def test_the_explorer_websocket_accepts_only_the_served_origins(host):
    pytest.importorskip("panel")
    from gaussmix.apps.explore.app import websocket_origins

    origins = websocket_origins(host, 5006, extra=["lab.example"])
    assert "*" not in origins and all(o.endswith(":5006") for o in origins)
    assert "lab.example:5006" in origins
    assert (host == "0.0.0.0") == ("localhost:5006" in origins and len(origins) > 3) or \
        host == "127.0.0.1"
