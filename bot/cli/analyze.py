"""`cxloop analyze`: sentiment and themes for JSON lines or a CSV, before going live."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli.common import fail
from bot.config import (
    ConfigError,
    load_config,
)
from bot.intake.analyze import analyze_stream, csv_rows, json_lines


@click.command()
@click.argument("csv_path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--config", "path", default=None,
              help="Use this file's [themes] and [sentiment] (default: $CXLOOP_CONFIG or cxloop.toml if it "
                   "exists, else the built-in ones).")
def analyze(csv_path: Path | None, path: str | None) -> None:
    """Sentiment and themes of comments: JSON lines {"comment", "kind", "score"} on stdin, or a CSV file.

    Writes one JSON line per input (sentiment, polarity, reason, themes, theme_matches, category), so a
    team can try its taxonomy on its own export before going live. Exit status 1 if a line was bad.
    """
    import os

    # textblob and VADER load in about 1.5 s, which no other sub-command needs

    path = path or os.environ.get("CXLOOP_CONFIG") or ("cxloop.toml" if Path("cxloop.toml").exists() else None)
    themes = words = None
    if path:
        try:
            # Only [themes] and [sentiment] are used: no secret is needed to read them.
            config = load_config(path, sandbox=True)
        except ConfigError as exc:
            fail(f"Configuration error in {path}:\n{exc}")
            raise
        themes, words = config.themes, config.sentiment_words
        click.echo(f"Themes and sentiment words from {path}.", err=True)
    if csv_path is not None:
        with csv_path.open(encoding="utf-8-sig", newline="") as stream:
            bad = analyze_stream(csv_rows(stream), sys.stdout, themes, words)
    else:
        bad = analyze_stream(json_lines(sys.stdin), sys.stdout, themes, words)
    if bad:
        click.secho(f"{bad} line(s) could not be analysed (see their \"error\").", fg="red", err=True)
        sys.exit(1)
