"""Alert templates: the exact text people receive, and template errors caught early."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from revsched.alerts import SLACK, AlertRenderer
from revsched.delivery import Part
from revsched.errors import TemplateError
from revsched.messages import slack_messages
from revsched.plan import Alert, Recipient

GOLDEN = Path(__file__).parent / "golden"

WIN_BACK_CONTEXT = {
    "account": {"id": "001000000000000001", "name": "Northwind Analytics"},
    "stage": "6-month",
    "churn_date": "2026-05-23",
    "months_since_churn": 6,
    "loss_reasons": ["Price", "No Budget"],
    "lost_renewal": {
        "id": "006000000000000001",
        "name": "Northwind Analytics - Renewal 2026",
        "close_date": "2026-05-20",
    },
    "status": {"Account status": "Churned", "Health score": 41.5, "Industry": None},
    "primary_contact": {
        "id": "003000000000000001",
        "name": "Dana Whitfield",
        "title": "VP Revenue Operations",
        "email": "dana.whitfield@northwind.example",
    },
    "campaign": "Win Back - Pricing",
    "ae": {"role": "AE", "user_id": "005000000000000002", "name": "Ava Patel", "email": None},
    "sdr": {"role": "SDR", "user_id": "005000000000000005", "name": "Fay Nguyen", "email": None},
    "newly_assigned": True,
    "call_to_action": ["Reach out to the primary contact within 48 hours"],
}


def win_back_alert(**context_overrides: object) -> Alert:
    return Alert(
        template="win_back.j2",
        record_id="001000000000000001",
        stage="6-month",
        recipients=(Recipient(role="AE", user_id="005000000000000002", name="Ava Patel"),),
        context={**WIN_BACK_CONTEXT, **context_overrides},
        reason="6-month win-back stage",
    )


def test_win_back_alert_text_matches_golden():
    renderer = AlertRenderer("https://acme.my.salesforce.com")

    text = renderer.render(win_back_alert()).text

    assert text == (GOLDEN / "win_back.txt").read_text(encoding="utf-8").rstrip("\n")


def test_win_back_alert_without_lost_renewal_or_primary_contact():
    renderer = AlertRenderer("https://acme.my.salesforce.com")

    text = renderer.render(
        win_back_alert(lost_renewal=None, loss_reasons=[], primary_contact=None, sdr=None)
    ).text

    assert "- No lost renewal opportunity on record" in text
    assert "- No primary contact role on the lost renewal: find the right person first" in text
    assert "Ava Patel (AE), Northwind Analytics churned 6 months ago" in text


def test_user_template_directory_overrides_a_shipped_template(tmp_path: Path):
    (tmp_path / "win_back.j2").write_text("Win back {{ account.name }} now", encoding="utf-8")
    renderer = AlertRenderer("https://acme.my.salesforce.com", [tmp_path])

    assert renderer.render(win_back_alert()).text == "Win back Northwind Analytics now"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ acount.name }}", "template win_back.j2: 'acount' is undefined"),
        ("{% if %}", "line 1: Expected an expression"),
        ("{{ account.name | mention }}", "mention needs a person with a name, got 'Northwind"),
    ],
)
def test_template_errors_name_the_template(tmp_path: Path, template: str, message: str):
    (tmp_path / "win_back.j2").write_text(template, encoding="utf-8")
    renderer = AlertRenderer("https://acme.my.salesforce.com", [tmp_path])

    with pytest.raises(TemplateError, match=message):
        renderer.render(win_back_alert())


def test_missing_template_is_an_error():
    renderer = AlertRenderer("https://acme.my.salesforce.com")

    with pytest.raises(TemplateError, match=r"alert template 'nope\.j2' not found"):
        renderer.render(win_back_alert().model_copy(update={"template": "nope.j2"}))


def slack_renderer(people: dict[str, str] | None = None) -> AlertRenderer:
    markup = replace(SLACK, people=(people or {}).get)
    return AlertRenderer("https://acme.my.salesforce.com", markup=markup)


def test_salesforce_values_cannot_ping_a_slack_channel_while_links_stay_links():
    hostile = {"id": "001000000000000001", "name": "<!channel> & <https://evil.example|click>"}

    text = slack_renderer().render(win_back_alert(account=hostile)).text

    assert "<!channel>" not in text
    assert text.splitlines()[0] == (
        "*Win-back, 6-month: <https://acme.my.salesforce.com/lightning/r/Account/"
        "001000000000000001/view|&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;>*"
    )
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; churned 6 months ago" in text


def test_plain_rendering_leaves_values_as_they_are():
    hostile = {"id": "001000000000000001", "name": "Smith & <Sons>"}

    text = AlertRenderer("https://x").render(win_back_alert(account=hostile)).text

    assert "Smith & <Sons> churned 6 months ago" in text


def test_people_known_in_slack_are_mentioned_others_named():
    ae = {**WIN_BACK_CONTEXT["ae"], "email": "ava.patel@acme.example"}
    sdr = {**WIN_BACK_CONTEXT["sdr"], "name": "Fay <Nguyen>", "email": "fay@acme.example"}

    text = (
        slack_renderer({"ava.patel@acme.example": "U0AVA"})
        .render(win_back_alert(ae=ae, sdr=sdr))
        .text
    )

    assert "<@U0AVA> (AE) / Fay &lt;Nguyen&gt; (SDR), Northwind Analytics churned" in text


CHURN_INTAKE_CONTEXT = {
    "account": {"id": "001000000000000009", "name": "Reddale & Partners <EU>"},
    "churn_date": "2026-11-23",
    "holding_user": "RevOps Team",
    "moved_from": "Ben Okafor",
    "cleared": [
        {"role": "SDR", "name": "Gus Romero", "email": "gus@acme.example"},
        {"role": "AM", "name": "Kofi Mensah", "email": None},
    ],
    "call_to_action": ["Log your last conversations and any open commitments on the account"],
}
PEOPLE_IN_SLACK = {"ava.patel@acme.example": "U0AVA", "gus@acme.example": "U0GUS"}


@pytest.mark.parametrize(
    ("template", "context"),
    [
        (
            "win_back.j2",
            {
                **WIN_BACK_CONTEXT,
                "ae": {**WIN_BACK_CONTEXT["ae"], "email": "ava.patel@acme.example"},
            },
        ),
        ("churn_intake.j2", CHURN_INTAKE_CONTEXT),
    ],
)
def test_slack_rendering_matches_golden(template: str, context: dict[str, object]):
    alert = win_back_alert().model_copy(update={"template": template, "context": context})
    text = slack_renderer(PEOPLE_IN_SLACK).render(alert).text

    messages = [
        m.payload.as_json() for m in slack_messages([Part((alert.record_id, alert.stage), text)])
    ]

    golden = GOLDEN / f"{template.removesuffix('.j2')}.slack.json"
    rendered = json.dumps(messages, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("REVSCHED_UPDATE_GOLDEN"):
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8")
