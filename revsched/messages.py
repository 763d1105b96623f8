"""Slack messages from rendered mrkdwn: Block Kit sections within Slack's limits.

Templates stay text; the blocks are built here as Python structures (never by
templating JSON): a section per paragraph of at most 3000 characters, a
divider between alerts, at most 50 blocks a message (more are split across
messages), and always a text fallback for notifications.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from revsched.alerts import AlertKey, escape_mrkdwn
from revsched.delivery import Outgoing, Part, count_alerts

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_FALLBACK_CHARS = 3000

Block = dict[str, Any]
DIVIDER: Block = {"type": "divider"}


@dataclass(frozen=True)
class SlackMessage:
    text: str
    blocks: tuple[Block, ...]

    def as_json(self) -> dict[str, Any]:
        """The message as chat.postMessage arguments (and as `revsched render` shows it)."""
        return {"text": self.text, "blocks": list(self.blocks)}


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def split_text(text: str, limit: int = MAX_SECTION_CHARS) -> list[str]:
    """Pieces of at most `limit` characters, cut at line ends where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = _cut_in_line(text, limit)
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    if text:
        pieces.append(text)
    return pieces


def _cut_in_line(text: str, limit: int) -> int:
    """Where to cut a long line without breaking an escape (&amp;) or a link (<url|x>)."""
    head = text[:limit]
    for opener, closer in (("<", ">"), ("&", ";")):
        start = head.rfind(opener)
        if start > 0 and start > head.rfind(closer):
            head = head[:start]
    return len(head)


def sections(text: str) -> list[Block]:
    """A section per paragraph (blank-line separated), each within Slack's limit."""
    return [
        section(piece)
        for paragraph in text.split("\n\n")
        for piece in split_text(paragraph.strip("\n"))
    ]


def _part_blocks(part: Part) -> list[Block]:
    note = [section(f"_{part.note}_")] if part.note else []
    return [*note, *sections(part.text)]


def _outgoing(blocks: list[Block], completes: list[AlertKey]) -> Outgoing:
    text = "\n\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    if len(text) > MAX_FALLBACK_CHARS:
        text = text[: MAX_FALLBACK_CHARS - 1] + "…"
    return Outgoing(tuple(completes), SlackMessage(text, tuple(blocks)))


def digest_title(play: str, parts: Sequence[Part]) -> str:
    """The bold line a digest opens with: the play and how many alerts it holds."""
    return f"*{escape_mrkdwn(play)}*: {count_alerts(len(parts))}"


def slack_messages(parts: Sequence[Part], title: str | None = None) -> list[Outgoing]:
    """The parts packed into as few messages as Slack's 50-block limit allows.

    A part is kept whole in one message when it fits in one; a message completes
    the alerts whose last block it carries.
    """
    messages: list[Outgoing] = []
    blocks: list[Block] = [section(title)] if title else []
    completes: list[AlertKey] = []
    for part in parts:
        new = _part_blocks(part)
        if completes:
            new = [DIVIDER, *new]
            if len(blocks) + len(new) > MAX_BLOCKS:
                messages.append(_outgoing(blocks, completes))
                blocks, completes, new = [], [], new[1:]
        while len(blocks) + len(new) > MAX_BLOCKS:
            room = MAX_BLOCKS - len(blocks)
            messages.append(_outgoing([*blocks, *new[:room]], completes))
            blocks, completes, new = [], [], new[room:]
        blocks.extend(new)
        completes.append(part.key)
    if blocks:
        messages.append(_outgoing(blocks, completes))
    return messages
