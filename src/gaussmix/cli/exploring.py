"""``gaussmix explore``: the interactive EM explorer in the browser, or its offline page."""

from __future__ import annotations

import os
import socket

import click

from .optional_extras import needs_extra
from .options import (
    COVARIANCE_CHOICES,
    COVARIANCE_HELP,
    SEED_TYPE,
    CliError,
    FiniteFloatRange,
    examples,
    existing_directory,
    fail_cleanly,
    one_line,
    printable,
)

_LOOPBACK = ("127.0.0.1", "localhost")


def _port(ctx, param, value):
    """``--port``: a whole number 0-65535 (0: any free port), else a usage error (exit 2)."""
    try:
        port = int(str(value).strip())
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise click.BadParameter(f"must be a whole number from 0 to 65535 (0: any free port); "
                                 f"got {value!r}.")
    return port


def _listening_port(host, port):
    """Check that ``host:port`` can be listened on (a free port for 0), before Panel starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
            return probe.getsockname()[1]
    except OSError as exc:
        reason = exc.strerror or str(exc)
        hint = "; choose another --port" if port else ""
        raise CliError(f"cannot listen on {host}:{port} ({reason}){hint}.") from None
    except (UnicodeError, ValueError):
        raise click.UsageError(f"--host {host!r} is not an address of this machine.") from None


def _page_path(ctx, param, path):
    """``--html``: a writable .html file path, else a usage error (exit 2)."""
    if path is None:
        return path
    if not path.lower().endswith((".html", ".htm")):
        raise click.BadParameter(f"{path}: the offline page must end in .html.")
    path = existing_directory(ctx, param, path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.access(folder, os.W_OK):
        raise click.BadParameter(f"{path}: the folder {folder} is not writable.")
    return path


def _session(data, columns, n_components, covariance_type, start, seed, groups, overlap,
             n_samples):
    from ..apps.explore.session import ExplorerSession

    session = ExplorerSession(n_components=n_components, covariance_type=covariance_type,
                              start=start, seed=seed)
    if data is None:
        return session.generate(groups, overlap, n_samples, seed=seed)
    if data.lower().replace("_", "-") == "old-faithful":
        if columns:
            raise click.UsageError("--columns chooses columns of a CSV file, not of old-faithful.")
        return session.load_old_faithful()
    x = y = None
    if columns:
        parts = [part.strip() for part in columns.split(",")]
        if len(parts) != 2 or not all(parts):
            raise click.UsageError(f"--columns takes two columns, e.g. --columns height,weight; "
                                   f"got {columns!r}.")
        x, y = (int(p) if p.isdigit() else p for p in parts)
    if not os.path.isfile(data):
        raise CliError(f"{data}: no such file (give a CSV file or old-faithful).")
    session.load_csv(data, x, y, label=os.path.basename(data))
    return session


@click.command(epilog=examples(
    "gaussmix explore",
    "gaussmix explore --data old-faithful -k 2 --port 8000 --no-browser",
    "gaussmix explore --html em.html --data heights.csv --columns height,weight -k 2",
))
@click.option("--port", default="5006", show_default=True, callback=_port, metavar="PORT",
              help="Port to serve on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default is this machine only. Another address "
              "(e.g. 0.0.0.0) lets other machines in, without any password.")
@click.option("--allow-origin", "allow_origins", multiple=True, metavar="HOST[:PORT]",
              help="Also accept the websocket from pages served under this name (repeatable; "
              "by default only the address served and, for 0.0.0.0, this machine's names).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser tab.")
@click.option("--html", "html_path", metavar="PAGE", callback=_page_path,
              help="Instead of serving, write a self-contained offline page (all JavaScript "
              "inline, a recorded EM run to step and play) to PAGE.html.")
@click.option("--data", metavar="CSV|old-faithful",
              help="Start with this data: a CSV file, or old-faithful (default: generated).")
@click.option("--columns", metavar="X,Y",
              help="The two CSV columns to use (names or 0-based positions; default: the first "
              "two numeric ones).")
@click.option("-k", "--n-components", default=3, show_default=True,
              type=click.IntRange(1, 10), help="K, the number of groups EM looks for.")
@click.option("--covariance", "covariance_type", default="full", show_default=True,
              type=COVARIANCE_CHOICES, help="Covariance type of the model (" + COVARIANCE_HELP + ").")
@click.option("--start", default="random", show_default=True,
              type=click.Choice(["random", "k-means", "hierarchical"]),
              help="How EM makes its first guess.")
@click.option("--seed", default=0, show_default=True, type=SEED_TYPE,
              help="Seeds the data and the start.")
@click.option("--groups", default=3, show_default=True, type=click.IntRange(1, 8),
              help="Generated data: number of true groups.")
@click.option("--overlap", default=0.05, show_default=True,
              type=FiniteFloatRange(0, 1, min_open=True, max_open=True),
              help="Generated data: average pairwise overlap of the groups.")
@click.option("-n", "--n-samples", default=500, show_default=True,
              type=click.IntRange(2, 20000), help="Generated data: number of points.")
@click.option("--max-iter", default=100, show_default=True, type=click.IntRange(1, 1000),
              help="--html: at most this many EM iterations recorded.")
@fail_cleanly
@needs_extra
def explore(port, host, allow_origins, no_browser, html_path, data, columns, n_components,
            covariance_type, start, seed, groups, overlap, n_samples, max_iter):
    """Watch EM think: an interactive explorer of Gaussian mixtures in the browser.

    Make data (generate, click to draw, load a CSV file or Old Faithful), choose K, the
    covariance type and the start, then Step, Play or Reset EM: points recolour as their soft
    assignments change (E-step), the 1-2-3 sd ellipses move (M-step), the lower bound climbs.
    Needs the extra: pip install "gaussmix[explore]".
    """
    from .._optional import require

    require("panel", "explore", "gaussmix explore")
    session = _session(data, columns, n_components, covariance_type, start, seed, groups,
                       overlap, n_samples)
    if html_path is not None:
        from ..apps.explore.page import write_page

        write_page(html_path, session, max_iter=max_iter)
        click.echo(f"wrote the explorer page to {printable(os.path.abspath(html_path))} "
                   f"({session.iteration} EM iterations recorded; open it in any browser)",
                   err=True)
        return
    if host not in _LOOPBACK:
        click.echo(f"gaussmix: warning: --host {host} serves the explorer to other machines "
                   "that can reach this one, with no password; use it only on a network you "
                   "trust.", err=True)
    port = _listening_port(host, port)
    shown = f"[{host}]" if ":" in host else host
    from ..apps.explore.app import UPLOAD_LIMIT, websocket_origins

    origins = websocket_origins(host, port, allow_origins)
    click.echo(printable(
        f"gaussmix explore: serving on http://{shown}:{port}/ (press Ctrl+C to stop); pages "
        f"from {', '.join(origins)} may connect, uploads up to {UPLOAD_LIMIT >> 20} MiB"),
        err=True)
    initial = {"X": session.X.copy(), "names": session.names, "label": session.label,
               "generation": session.generation}
    settings = {"n_components": n_components, "covariance_type": covariance_type,
                "start": start, "seed": seed}

    def new_session():
        from ..apps.explore.session import ExplorerSession

        fresh = ExplorerSession(initial["X"], **settings, names=initial["names"],
                                label=initial["label"])
        fresh.generation = initial["generation"]
        return fresh

    from ..apps.explore.app import serve

    try:
        serve(new_session, host=host, port=port, show=not no_browser,
              allow_origins=allow_origins)
    except KeyboardInterrupt:
        click.echo("gaussmix explore: stopped", err=True)
    except OSError as exc:
        raise CliError(one_line(f"cannot serve on {host}:{port}: {exc.strerror or exc}")) \
            from None
