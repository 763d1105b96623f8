"""`revsched plays` as plain aligned text: a line a play, as wide as the terminal.

Plain text rather than a rich table: listing the plays is what a person runs first and
often, and it reads the same without the table library (about a tenth of its start).
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence
from typing import Any

# Columns from which each play's purpose has room beside its schedule; narrower (80
# columns: cron mail, a pipe), it goes on its own line under the play.
PLAYS_WIDE = 110
GAP = "  "
HEADERS = ("play", "schedule", "next run")


def _cells(play: dict[str, Any], wide: bool) -> tuple[list[str], str]:
    """The play's name, schedule and next run, and its purpose (marked when disabled)."""
    upcoming = play["next_run"]
    when = f"{upcoming[:10]} {upcoming[11:16]}" if upcoming else "never"
    schedule = play["schedule"]
    if schedule != play["cron"]:
        schedule = f"{schedule} ({play['cron']})"
    name, purpose = play["name"], play["summary"]
    if not play["enabled"]:
        # Narrow, on the purpose's line, so the play's line keeps to the width.
        name, purpose = (f"{name} (disabled)", purpose) if wide else (name, f"(disabled) {purpose}")
    return [name, schedule, f"{when} {play['time_zone']}"], purpose


def _wrapped(text: str, width: int) -> list[str]:
    """Lines of at most `width`, broken between words only ("auto-merge" stays whole)."""
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


def plays_lines(plays: Sequence[dict[str, Any]], width: int) -> list[str]:
    """The header, its rule and each play: with its purpose in a last column wrapped to
    `width` when at least PLAYS_WIDE, else on the lines under it, indented."""
    wide = width >= PLAYS_WIDE
    rows = [_cells(play, wide) for play in plays]
    columns = zip(HEADERS, *(cells for cells, _purpose in rows), strict=True)
    widths = [max(map(len, column)) for column in columns]

    def line(cells: Sequence[str]) -> str:
        return GAP.join(cell.ljust(size) for cell, size in zip(cells, widths, strict=True))

    indent = len(line(HEADERS) + GAP)
    header = line(HEADERS) + (f"{GAP}what it does" if wide else "")
    firsts, body = [header.rstrip()], []
    for cells, purpose in rows:
        if wide:
            first, *more = _wrapped(purpose, max(width - indent, 20))
            firsts.append(f"{line(cells)}{GAP}{first}")
            body += [firsts[-1], *(" " * indent + text for text in more)]
        else:
            firsts.append(line(cells).rstrip())
            body += [
                firsts[-1],
                *(GAP + text for text in _wrapped(purpose, width - len(GAP))),
            ]
    rule = "─" * min(width, max(map(len, firsts)))
    return [firsts[0], rule, *body]


def print_plays(plays: Sequence[dict[str, Any]]) -> None:
    """The plays listed at the terminal's width ($COLUMNS, else 80 when piped)."""
    print("\n".join(plays_lines(plays, shutil.get_terminal_size().columns)))
