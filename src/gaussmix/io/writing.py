"""Writing files safely: atomic replacement, all-or-nothing commands, streamed data tables, and
scratch space.

Outputs are written to a temporary file next to the destination and renamed into place, so a
failure never leaves a half-written file and never replaces a good one. Inside
:func:`all_or_nothing` (every command of the command line runs in one) the renames wait until the
whole block succeeded: a command with several outputs changes all of them or none. Temporary
files are removed on any error, on Ctrl-C and on SIGTERM (see :func:`remove_temporaries_on_signals`).
An output that exists keeps its permission bits; a new one gets the usual ``0666 & ~umask``.
Only regular files are written: an output path that is a directory, a FIFO or a device is refused
(:class:`OutputError`) instead of being replaced or blocking.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import stat
import tempfile
import threading
from contextlib import contextmanager

import numpy as np

from .formats import DataError

__all__ = [
    "OutputError", "all_or_nothing", "atomic_write", "atomic_write_path", "check_output",
    "no_scratch_space", "protect_inputs", "remove_stale_temporaries",
    "remove_temporaries_on_signals", "same_file",
    "scratch_array",
]


class OutputError(ValueError):
    """An output path that must not be written: not a regular file, or one of the inputs."""


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def check_output(path):
    """Refuse an output ``path`` that exists and is not a regular file (links are followed).

    Returns the path to write: the target of a symbolic link (the link itself stays), else
    ``path``. Raises :class:`OutputError` naming ``path`` and what it is.
    """
    path = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return os.path.realpath(path) if os.path.islink(path) else path
    except OSError as exc:
        raise OutputError(f"{path}: cannot be written ({exc.strerror or exc}).") from None
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise OutputError(f"{path}: is {kind}; outputs are written only to regular files.")
    return os.path.realpath(path) if os.path.islink(path) else path


def same_file(a, b):
    """Whether paths ``a`` and ``b`` name the same existing file (links resolved: compares the
    device and inode, so symbolic and hard links to one file are the same file)."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except (OSError, ValueError):
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


# ---------------------------------------------------------------------- temporaries
_LOCK = threading.RLock()
_PROTECTED = []  # files that must never be written (a command's inputs): see protect_inputs
_TEMPORARIES = set()  # every temporary file not yet renamed or removed, for the signal handler
_PENDING = []  # stack of open all_or_nothing() blocks: lists of (tmp, destination)


def _remove(tmp):
    # unlink first, forget after: a signal between the two still finds it in _TEMPORARIES
    try:
        os.unlink(tmp)
    except OSError:
        pass
    with _LOCK:
        _TEMPORARIES.discard(tmp)


def _remove_all():
    with _LOCK:
        temporaries = list(_TEMPORARIES)
    for tmp in temporaries:
        _remove(tmp)


#: Temporary outputs are ``.gaussmix-<pid>-<8 random characters><suffix>``: the name says whose
#: they are, so that one left by a killed process (SIGKILL, power cut) can be recognised later.
_PREFIX = ".gaussmix-"
_OURS = re.compile(r"\.gaussmix-([0-9]{1,10})-[a-z0-9_]{8}(?:\..*)?", re.DOTALL)
_SWEPT = set()  # directories already swept by this process


def _process_exists(pid):
    if pid <= 0:
        return True  # not a process of ours: never claim it is gone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, someone else's
        return True
    return True


def remove_stale_temporaries(directory):
    """Remove from ``directory`` the temporary outputs that a gaussmix process killed outright
    (SIGKILL, power cut: nothing could clean up) left behind.

    Only regular files (never symbolic links, never followed), owned by this user, named
    ``.gaussmix-<pid>-XXXXXXXX...`` whose process ``<pid>`` no longer exists are removed; a
    running writer's temporaries and every other name stay. Each directory is swept once per
    process (the first write into it); POSIX only. Returns the names removed.
    """
    directory = os.path.abspath(directory)
    if os.name != "posix" or directory in _SWEPT:
        return []
    _SWEPT.add(directory)
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = _OURS.fullmatch(entry.name)
        if match is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                continue
            if int(match.group(1)) == os.getpid() or _process_exists(int(match.group(1))):
                continue
            os.unlink(entry.path)  # unlink never follows a link
        except OSError:
            continue
        removed.append(entry.name)
    return removed


def remove_temporaries_on_signals(signals=(signal.SIGINT, signal.SIGTERM)):
    """Install handlers (main thread only) that remove every temporary output file on SIGINT or
    SIGTERM, then end the process as the signal would (SIGINT: ``KeyboardInterrupt``; others:
    exit status 128 + signal number). Idempotent; a no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return
    if not getattr(remove_temporaries_on_signals, "_at_exit", False):
        atexit.register(_remove_all)  # and whatever is left when the interpreter ends
        remove_temporaries_on_signals._at_exit = True
    for signum in signals:
        if getattr(signal.getsignal(signum), "_gaussmix", False):
            continue

        def handler(number, frame):
            _remove_all()
            if number == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + number)

        handler._gaussmix = True
        signal.signal(signum, handler)


@contextmanager
def protect_inputs(paths):
    """Inside the block, refuse (:class:`OutputError`) any atomic write to one of ``paths``
    (compared as files: links resolved)."""
    paths = [os.fspath(p) for p in paths]
    _PROTECTED.extend(paths)
    try:
        yield
    finally:
        for p in paths:
            _PROTECTED.remove(p)


@contextmanager
def all_or_nothing():
    """Defer the renames of every atomic write inside the block to its end: when the block
    raises, no destination has changed and every temporary file is removed. A signal at any
    point leaves the stack of open blocks as it was (the bookkeeping is inside the ``try``)."""
    pending = []
    done = False
    try:
        _PENDING.append(pending)
        yield
        with _signals_held():
            _pop(pending)
            if _PENDING:  # nested: the outer block commits
                _PENDING[-1].extend(pending)
            else:
                _commit(pending)
            done = True
    except BaseException:
        _pop(pending)
        if not done:
            for tmp, _ in pending:
                _remove(tmp)
        raise


def _pop(pending):
    """Take ``pending`` (this very list: another block's may be equal) off the stack, if there."""
    for i in range(len(_PENDING) - 1, -1, -1):
        if _PENDING[i] is pending:
            del _PENDING[i]
            return


_HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _signals_held():
    """SIGINT and SIGTERM held back inside the block and delivered after it (main thread).

    Blocking them with ``pthread_sigmask`` is not enough: the kernel then hands a signal sent to
    the process to another thread (BLAS, Arrow...), and Python still runs its handler in the main
    thread at the next bytecode, inside the block. So the block swaps in a handler that only
    records the signal, and raises each recorded one again, under the old handler, at the end.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = {}
    try:
        for signum in _HELD_SIGNALS:
            handler = signal.getsignal(signum)
            if handler is None:  # installed outside Python: cannot be put back, leave it
                continue
            previous[signum] = handler
            signal.signal(signum, lambda number, frame: caught.append(number))
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)


def _commit(pending):
    """Rename the temporaries into place with SIGINT and SIGTERM held back, so that a signal
    cannot leave the outputs half replaced."""
    with _signals_held():
        for i, (tmp, destination) in enumerate(pending):
            try:
                os.replace(tmp, destination)
            except OSError as exc:
                for rest, _ in pending[i:]:
                    _remove(rest)
                raise OSError(exc.errno, exc.strerror, destination) from None
            with _LOCK:
                _TEMPORARIES.discard(tmp)


def atomic_write(path, write):
    """Call ``write(file)`` on a temporary file next to ``path``, then rename it into place.

    On any error the temporary file is removed and ``path`` is left as it was.
    """

    def to_file(tmp):
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())

    atomic_write_path(path, to_file)


def atomic_write_path(path, write, suffix=".tmp"):
    """:func:`atomic_write` for writers that take a file name: ``write(tmp_path)``, where
    ``tmp_path`` ends in ``suffix`` (picture and animation writers choose the format by it).

    ``path`` must be absent or a regular file (:func:`check_output`); a symbolic link is
    followed. Errors name ``path``, never the temporary file.
    """
    path = os.fspath(path)
    destination = check_output(path)
    for protected in _PROTECTED:
        if same_file(destination, protected):
            raise OutputError(f"{path}: is the input {protected}; refusing to overwrite it.")
    directory = os.path.dirname(os.path.abspath(destination))
    remove_stale_temporaries(directory)
    tmp = None
    try:
        with _signals_held():  # a signal between creating and recording it would leave it behind
            try:
                fd, tmp = tempfile.mkstemp(prefix=f"{_PREFIX}{os.getpid()}-", suffix=suffix,
                                           dir=directory)
            except OSError as exc:  # report the file asked for, not the temporary name
                raise type(exc)(exc.errno, exc.strerror, path) from None
            with _LOCK:
                _TEMPORARIES.add(tmp)
            os.close(fd)
        try:
            write(tmp)
            os.chmod(tmp, _mode_for(destination))
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            raise _renamed(exc, tmp, path) from None
        if _PENDING:
            _PENDING[-1].append((tmp, destination))
            return
        _commit([(tmp, destination)])
    except BaseException:
        if tmp is not None:
            _remove(tmp)
        raise


def _mode_for(destination):
    """An existing file's permission bits, else ``0666 & ~umask`` (mkstemp makes 0600 files)."""
    try:
        return stat.S_IMODE(os.stat(destination).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _renamed(exc, tmp, path):
    """``exc`` with the temporary file's name replaced by the user's ``path``."""
    if isinstance(exc, OSError):
        filename = getattr(exc, "filename", None)
        if filename is None or os.fspath(filename) == tmp or tmp in str(exc):
            return type(exc)(exc.errno, exc.strerror or str(exc).replace(tmp, path), path)
        return exc
    text = str(exc)
    if tmp not in text:
        return exc
    try:
        return type(exc)(text.replace(tmp, path))
    except (TypeError, ValueError):
        return ValueError(text.replace(tmp, path))


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def scratch_array(shape, dtype, path, folders=(), what="a standardized copy"):
    """An empty memory-mapped array backed by an anonymous (already deleted) temporary file."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    last = None
    for folder in [*folders, tempfile.gettempdir()]:
        folder = os.path.abspath(folder or ".")
        try:
            # the mapping outlives the handle; the deleted file goes with the mapping
            with tempfile.TemporaryFile(dir=folder) as handle:
                if size and hasattr(os, "posix_fallocate"):  # claim the space now, fail early
                    os.posix_fallocate(handle.fileno(), 0, size)
                return np.memmap(handle, dtype=dtype, mode="w+", shape=shape)
        except OSError as exc:
            last = exc
    raise DataError(no_scratch_space(path, size, last, what))


def no_scratch_space(path, size, exc, what="a standardized copy"):
    """The one-line error for a scratch copy of ``path`` that found no disk room."""
    reason = exc.strerror if getattr(exc, "strerror", None) else str(exc)
    advice = (
        "leave out --standardize" if what == "a standardized copy"
        else "save the file as float32/float64 with only the columns to use"
    )
    return (
        f"{path}: no room for {what} ({size / 2**20:.0f} MiB) of this file on disk ({reason}); "
        f"free disk space next to it, next to the output or in the temporary folder, or {advice}."
    )
