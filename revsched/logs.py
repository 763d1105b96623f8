"""Logging to stderr: human lines for terminals and cron mail, JSON lines for journald.

stdout stays for what a command prints (plans, --json documents); everything
revsched reports about itself while working goes through the `revsched` logger.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["human", "json"]

logger = logging.getLogger("revsched")


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, logger, message (and the error, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


_format: LogFormat = "human"


def error(message: str) -> None:
    """A command's final one-line error: `error: ...` for people, a JSON line for machines."""
    if _format == "json":
        logger.error(message)
    else:
        print(f"error: {message}", file=sys.stderr)


def configure(log_format: LogFormat = "human", level: int = logging.INFO) -> None:
    """Send revsched's logs to the current stderr in the chosen format (idempotent)."""
    global _format
    _format = log_format
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(
        JsonLines()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    # Never hide records from a more verbose root (pytest's caplog, a debugging session).
    threshold = min(level, logging.getLogger().getEffectiveLevel())
    handler.addFilter(DemoteScheduler(level))
    for name in ("revsched", "apscheduler"):
        target = logging.getLogger(name)
        target.handlers[:] = [handler]
        target.setLevel(threshold)


class DemoteScheduler(logging.Filter):
    """APScheduler's INFO lines ("Added job", "Running job", "executed successfully") are
    DEBUG to us: revsched's own lines already say what fires, when and how it ended."""

    def __init__(self, level: int):
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("apscheduler") and record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return self.level <= logging.DEBUG
        return True
