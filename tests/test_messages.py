"""Block Kit from rendered mrkdwn: Slack's limits kept without breaking markup."""

from __future__ import annotations

from revsched.delivery import Part
from revsched.messages import MAX_BLOCKS, MAX_SECTION_CHARS, slack_messages, split_text


def test_long_text_is_cut_at_line_ends():
    lines = [f"- line {n:04} " + "x" * 80 for n in range(100)]

    pieces = split_text("\n".join(lines))

    assert all(len(p) <= MAX_SECTION_CHARS for p in pieces)
    assert "\n".join(pieces) == "\n".join(lines)
    assert all(p.startswith("- line ") for p in pieces)


def test_a_long_line_is_never_cut_inside_an_escape_or_a_link():
    link = "<https://acme.my.salesforce.com/lightning/r/Account/001/view|Smith &amp; Sons>"
    line = ("Smith &amp; Sons &lt;EU&gt; " * 150) + link + " tail"

    pieces = split_text(line)

    assert "".join(pieces) == line
    for piece in pieces:
        assert len(piece) <= MAX_SECTION_CHARS
        assert piece.count("<") == piece.count(">")
        assert not piece.rstrip().endswith(("&amp", "&lt", "&gt", "&"))


def test_an_alert_larger_than_one_message_completes_with_its_last_message():
    text = "\n\n".join(f"Paragraph {n}" for n in range(120))

    messages = slack_messages([Part(("001A", "6-month"), text), Part(("001B", "6-month"), "B")])

    assert [len(m.payload.blocks) for m in messages] == [50, 50, 22]
    assert [m.completes for m in messages] == [(), (), (("001A", "6-month"), ("001B", "6-month"))]
    assert all(len(m.payload.blocks) <= MAX_BLOCKS for m in messages)
    assert messages[0].payload.text.startswith("Paragraph 0\n\nParagraph 1")
