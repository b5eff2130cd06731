"""Plumbing of the ``gaussmix`` command line: errors, option checks, progress, consoles, figures.

The commands live in the other modules of :mod:`gaussmix.cli`; this module keeps what they share:
option decorators, error handling, progress, consoles, figures, and the row blocks that let
a file larger than memory stream through.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import sys
import threading
import warnings
from contextlib import contextmanager

import click

from ..io.formats import DataError, data_format


def examples(*lines):
    """An epilog that click shows verbatim (no re-wrapping)."""
    return "\b\nExample" + ("s" if len(lines) > 1 else "") + ":\n" + "\n".join(
        "  " + line for line in lines
    )


class CliError(click.ClickException):
    """A bad data or model file (or a failed fit): one line on stderr and exit status 1."""

    exit_code = 1

    def show(self, file=None):
        click.echo(f"gaussmix: error: {one_line(self.format_message())}", err=True)


# C0 and C1 controls, and the invisible Unicode marks that reorder or break the text shown
# (bidirectional overrides and isolates, line and paragraph separators).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def printable(text):
    """``text`` with control characters (ANSI escape sequences, bells, carriage returns,
    bidirectional overrides...) shown as ``\\xNN`` (``\\uNNNN``): names from data files,
    paths and arguments never drive the terminal."""
    return _CONTROL.sub(_escape, str(text))


def _escape(match):
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class SafeMessages(click.Group):
    """A group whose usage errors (click's own included: "No such option", "Invalid value",
    "No such command"...) show user-supplied text through :func:`printable`."""

    def make_context(self, info_name, args, parent=None, **extra):
        with _printable_usage_errors():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx):  # parses and runs the sub-commands
        with _printable_usage_errors():
            return super().invoke(ctx)


@contextmanager
def _printable_usage_errors():
    try:
        yield
    except click.ClickException as exc:
        exc.message = printable(exc.message)
        if isinstance(exc, click.FileError):
            exc.ui_filename = printable(exc.ui_filename)
        raise


def one_line(text):
    """Collapse a message onto one line (errors and warnings are printed one line each), its
    control characters made visible (:func:`printable`)."""
    return printable(" ".join(str(text).split()))


# The library's advice names Python arguments; the command line's user needs its options.
_CLI_TERMS = (
    ("reg_covar=", "--reg-covar "), ("reg_covar", "--reg-covar"), ("max_iter", "--max-iter"),
    ("n_init", "--n-init"), ("a larger tol", "a larger --tol"),
    ("standardize the data", "use --standardize"), ("n_components", "-k"),
    ("scale the input data", "scale the columns (--standardize)"),
    ("standardized columns", "--standardize"), ("number of components", "number of components (-k)"),
)


def cli_terms(text):
    """A library message with its Python arguments named as the command line's options.

    >>> cli_terms("Increase reg_covar (e.g. reg_covar=1e-4), use fewer components.")
    'Increase --reg-covar (e.g. --reg-covar 1e-4), use fewer components.'
    """
    for python, option in _CLI_TERMS:
        text = text.replace(python, option)
    return text


def fail_cleanly(func):
    """Run a command safely: its outputs are checked against its inputs before any work (an
    output that is one of the input files is a usage error, exit 2), written all or nothing
    (:func:`gaussmix.io.writing.all_or_nothing`; temporaries removed on Ctrl-C and SIGTERM),
    and data, model and file errors become one line on stderr (exit 1), never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from ..io.writing import (
            OutputError,
            all_or_nothing,
            protect_inputs,
            remove_temporaries_on_signals,
        )

        try:
            inputs = _check_outputs_against_inputs(click.get_current_context(silent=True))
            remove_temporaries_on_signals()
            with protect_inputs(inputs), all_or_nothing(), quiet_numpy_warnings():
                return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # e.g. `gaussmix predict ... -o - | head`: stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)
        except OutputError as exc:
            raise click.UsageError(one_line(exc)) from None
        except (ValueError, ArithmeticError) as exc:
            raise CliError(one_line(exc)) from None
        except OSError as exc:
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            raise CliError(one_line(f"{where}{exc.strerror or exc}")) from None
        except MemoryError:
            raise CliError("out of memory; use fewer rows, columns or components.") from None
        except RecursionError:
            raise CliError("input nested too deeply to read.") from None
        except Exception as exc:
            if os.environ.get("GAUSSMIX_DEBUG"):
                raise
            raise CliError(
                one_line(
                    f"internal error ({type(exc).__name__}: {exc}); set GAUSSMIX_DEBUG=1 to see "
                    "the traceback and please report it."
                )
            ) from None

    return wrapper


_OUTPUTS = "gaussmix.outputs"


def _check_outputs_against_inputs(ctx):
    """The command's input files (every other path argument naming an existing regular file);
    a usage error if an output (recorded by :func:`existing_directory`) is one of them or two
    outputs are the same file."""
    from ..io.writing import same_file

    if ctx is None:
        return []
    outputs = ctx.meta.get(_OUTPUTS, {})
    inputs = []
    for name, value in ctx.params.items():
        if name in outputs:
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, str) and item != "-" and os.path.isfile(item):
                inputs.append((name, item))
    seen = []
    for out in outputs.values():
        for in_name, path in inputs:
            if same_file(out, path):
                raise click.UsageError(
                    f"the output {out} is the input {path} ({in_name.upper()}); refusing to "
                    "overwrite it: choose another output file."
                )
        for other in seen:
            if os.path.abspath(out) == os.path.abspath(other) or same_file(out, other):
                raise click.UsageError(
                    f"{other} and {out} are the same file; outputs must be different files.")
        seen.append(out)
    return [path for _, path in inputs]


@contextmanager
def quiet_numpy_warnings():
    """RuntimeWarnings (NumPy's and SciPy's overflow, invalid value, ..., wherever the ufunc ran;
    gaussmix itself never raises one) are not shown: our own checks report what matters, as one
    ``gaussmix: warning:`` line."""
    import numpy as np

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        yield


class FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` that also refuses ``nan`` and infinities (a usage error, exit 2):
    every number option of the command line is finite."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


#: ``--seed``: what NumPy's seeding accepts, checked as a usage error.
SEED_TYPE = click.IntRange(0, 2**32 - 1)


class ComponentsType(click.ParamType):
    """``-k``: a number, a range (``1-8`` or ``2:6``, inclusive), a list (``2,4,8``) or ``auto``."""

    name = "K"
    #: Most values one range or list may hold, and the largest K (the data must have as many
    #: rows).
    MAX_VALUES = 1000
    MAX_COMPONENTS = 1_000_000

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        text = str(value).strip().lower()
        if text == "auto":
            return "auto"
        try:
            for sep in ("-", ":"):
                if sep in text:
                    low, high = (int(part) for part in text.split(sep))
                    if high - low >= self.MAX_VALUES:
                        self.fail(f"{value!r}: at most {self.MAX_VALUES} numbers of components "
                                  "at once.", param, ctx)
                    values = list(range(low, high + 1))
                    break
            else:
                if text.count(",") >= self.MAX_VALUES:  # before building the list
                    self.fail(f"a list of {text.count(',') + 1} numbers of components: at "
                              f"most {self.MAX_VALUES} at once.", param, ctx)
                values = [int(part) for part in text.split(",")]
        except ValueError:
            self.fail(f"{value!r} is not a number, a range like 1-8 or 2:6, or 'auto'.", param, ctx)
        if not values or min(values) < 1:
            self.fail(f"{value!r}: numbers of components must be >= 1 (and low <= high).", param, ctx)
        if max(values) > self.MAX_COMPONENTS:
            self.fail(f"{value!r}: at most {self.MAX_COMPONENTS} components (and no more than the "
                      "data has rows).", param, ctx)
        return sorted(set(values))


def table_output(ctx, param, value):
    """Check an output data path before any work: known extension, existing directory."""
    if value is None or value == "-":
        return value
    try:
        data_format(value)
    except DataError as exc:
        raise click.BadParameter(str(exc)) from None
    return existing_directory(ctx, param, value)


def existing_directory(ctx, param, value):
    """Check an output file path: its directory exists, and it is absent or a regular file
    (not a directory, FIFO or device). Records it for :func:`fail_cleanly`'s input check."""
    from ..io.writing import OutputError, check_output

    if value is None or value == "-":
        return value
    directory = os.path.dirname(os.path.abspath(value))
    if not os.path.isdir(directory):
        raise click.BadParameter(f"{value}: directory {directory} does not exist.")
    try:
        check_output(value)
    except OutputError as exc:
        raise click.BadParameter(str(exc)) from None
    if ctx is not None:
        ctx.meta.setdefault(_OUTPUTS, {})[param.name if param else value] = value
    return value


_IMAGE_TYPES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")


def image_output(ctx, param, value):
    if value is not None and os.path.splitext(value)[1].lower() not in _IMAGE_TYPES:
        raise click.BadParameter(f"{value}: use one of {', '.join(_IMAGE_TYPES)}.")
    return existing_directory(ctx, param, value)

@contextmanager
def progress(message, quiet, delay=0.5):
    """A transient spinner on stderr for work that lasts more than ``delay`` seconds.

    Yields a function that replaces the spinner's text, or ``None`` when nothing is shown (with
    ``--quiet`` or when stderr is not a terminal).
    """
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    message = printable(message)
    task = progress.add_task(message, total=None)
    timer = threading.Timer(delay, progress.start)
    timer.daemon = True
    timer.start()
    try:
        yield lambda text: progress.update(task, description=f"{message}: {printable(text)}")
    finally:
        timer.cancel()
        timer.join()
        progress.stop()


@contextmanager
def engine_messages(status, model):
    """Show the EM driver's log messages (start, iteration, lower bound) in the spinner."""
    if status is None:
        yield
        return

    class _ToStatus(logging.Handler):
        def emit(self, record):
            status(one_line(record.getMessage()))

    log = logging.getLogger("gaussmix")
    saved = (log.level, log.propagate, model.verbose, model.verbose_interval)
    handler = _ToStatus()
    log.addHandler(handler)
    log.propagate = False
    model.set_params(verbose=2, verbose_interval=1)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(saved[0])
        log.propagate = saved[1]
        model.set_params(verbose=saved[2], verbose_interval=saved[3])


@contextmanager
def reported_warnings():
    """Show warnings raised inside (e.g. no convergence) as one ``gaussmix: warning:`` line each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    seen = set()
    for item in caught:
        if issubclass(item.category, RuntimeWarning):  # arithmetic noise, never gaussmix's own
            continue
        text = cli_terms(one_line(item.message))
        if text not in seen:
            seen.add(text)
            click.echo(f"gaussmix: warning: {text}", err=True)


def consoles(quiet):
    """Rich consoles for results (stdout) and status lines (stderr).

    They print text as it is: no markup (a column named ``a[/]`` or ``[cm]`` is shown as
    such), no emoji codes, no highlighting, and control characters made visible
    (:func:`printable`), since column names and paths come from data. When stdout is not a
    terminal (a pipe, a log file) tables get 160 columns instead of rich's default 80, so that
    numbers are not cut; ``COLUMNS`` still wins when set.
    """
    from rich.console import Console

    class PlainConsole(Console):
        def print(self, *objects, **kwargs):
            kwargs.setdefault("soft_wrap", True)
            super().print(*(printable(o) if isinstance(o, str) else o for o in objects),
                          **kwargs)

    width = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
    plain = {"markup": False, "emoji": False, "highlight": False}
    return (PlainConsole(quiet=quiet, width=width, **plain),
            PlainConsole(stderr=True, quiet=quiet, **plain))

def save_figure(path, draw):
    """Draw with matplotlib (Agg) and save atomically; the figure is always closed."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    from ..io.writing import atomic_write

    result = draw()
    figure = getattr(result, "figure", result)
    if hasattr(figure, "get_figure") and figure.get_figure() is not None:
        figure = figure.get_figure()
    fmt = os.path.splitext(path)[1].lower().lstrip(".")
    try:
        atomic_write(path, lambda f: figure.savefig(f, format="jpeg" if fmt == "jpg" else fmt,
                                                    bbox_inches="tight", dpi=150))
    finally:
        plt.close(figure)


# ---------------------------------------------------------------------- shared options
class LazyChoice(click.Choice):
    """A ``click.Choice`` whose choices come from ``source()`` when first needed (a value to
    check, a help page), so that importing the command line imports nothing heavy: the
    covariance registry needs NumPy and SciPy, which ``gaussmix --help`` must not wait for."""

    def __init__(self, source, case_sensitive=True, metavar=None):
        self._source = source
        self._choices = None
        self._metavar = metavar
        self.case_sensitive = case_sensitive

    def get_metavar(self, param, ctx):
        """``metavar`` when given (help pages then import nothing), else the choices."""
        return self._metavar or super().get_metavar(param, ctx)

    @property
    def choices(self):
        if self._choices is None:
            self._choices = tuple(self._source())
        return self._choices

    @choices.setter
    def choices(self, value):
        self._choices = tuple(value)


def _covariance_names():
    from ..engine import covariance

    return covariance.names()


#: Every registered covariance model, for ``--covariance`` (help: ``COVARIANCE_HELP``).
COVARIANCE_CHOICES = LazyChoice(_covariance_names, metavar="TYPE")
#: The same and ``all`` (mclust's fourteen models), where several types are compared.
COVARIANCE_GRID_CHOICES = LazyChoice(lambda: [*_covariance_names(), "all"], metavar="TYPE")
#: What TYPE may be, for the help pages (a wrong value lists every registered name).
COVARIANCE_HELP = "TYPE: full, tied, diag, spherical or an mclust model (EII, VII, ..., VVV)"


def covariance_grid(covariance_types):
    """``--covariance`` values given (``all`` expanded), in order, or the default four."""
    from ..engine import covariance

    names = [name for ctype in covariance_types for name in covariance.expand(ctype)]
    return list(dict.fromkeys(names)) or ["full", "tied", "diag", "spherical"]
# Rows per block when a command streams through a file.
BLOCK_ROWS = 1 << 16


def check_rows(table, n_components):
    """A table with too few rows for ``n_components`` gives the one-line error."""
    n_rows = table.X.shape[0]
    need = max(2, n_components)
    if n_rows < need:
        raise DataError(
            f"{table.path}: {n_rows} row(s) are too few to fit {n_components} component(s); "
            f"at least {need} are needed."
        )


def quiet_option(func):
    return click.option(
        "-q", "--quiet", is_flag=True, help="No progress display, tables or status lines."
    )(func)


def model_option(func):
    return click.option("-m", "--model", "model_path", required=True, metavar="MODEL",
                        help="Model file written by 'gaussmix fit'.")(func)


def table_output_option(func):
    return click.option("-o", "--output", required=True, callback=table_output, metavar="OUT",
                        help="Output .csv, .tsv, .parquet or .npy ('-' for CSV on stdout).")(func)


def columns_option(func):
    return click.option(
        "--columns",
        metavar="COLS",
        help="Comma-separated column names or 0-based positions to use (default: all; for a model "
        "fitted on named columns, those names).",
    )(func)
