"""An apply as a person sees it in a terminal: plan, then writes (with progress), then
alerts, then the result, and no progress bar left behind on any line."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pyte

COLUMNS, ROWS = 100, 40


def run_in_terminal(args: list[str], home: Path) -> tuple[bytes, list[str]]:
    """Run revsched on a pseudo-terminal; returns what it wrote and the screen's lines
    (a terminal emulator applies the cursor moves and erasures that redraw the bars)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    env = {**os.environ, "REVSCHED_HOME": str(home), "TERM": "xterm-256color"}
    for name in ("COLUMNS", "LINES", "NO_COLOR", "REVSCHED_CONFIG"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "revsched", *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        cwd=home,
        close_fds=True,
    )
    os.close(terminal)
    written = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the program closed the terminal
            break
        if not chunk:
            break
        written += chunk
    os.close(controller)
    assert process.wait(timeout=120) == 0, written.decode(errors="replace")
    # A screen tall enough that nothing scrolls away.
    screen = pyte.Screen(COLUMNS, 2000)
    stream = pyte.ByteStream(screen)
    stream.feed(bytes(written))
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return bytes(written), lines


def first(lines: list[str], text: str) -> int:
    return next(i for i, line in enumerate(lines) if text in line)


def test_apply_in_a_terminal_shows_plan_writes_alerts_result_in_order(demo_org: Path):
    written, lines = run_in_terminal(["run", "win-back", "--as-of", "2026-11-23"], demo_org.parent)

    header = first(lines, "win-back run as of 2026-11-23 on demo org")
    plan = first(lines, "win-back as of 2026-11-23: 5 selected")
    alert = first(lines, "alert to ")
    result = first(lines, "Run 1 of win-back succeeded: 17 field changes written")
    assert header < plan < alert < result
    # The result (one line, which the terminal wraps at its width) is the last thing on the
    # screen; the alerts went to the terminal (no channel configured) and it says so.
    assert (
        "".join(lines[result:])
        .replace(" ", "")
        .endswith("0leftaloneasstale,5alertsprintedabove(noalertchannelisconfigured).")
    )
    # The bars were drawn while reading and writing, and none is left on the screen.
    assert b"reading Account" in written and b"writing Account" in written
    for line in lines:
        assert "reading " not in line and "writing " not in line and "━" not in line, line
