"""The example CI workflow's config passes `doctor` on a sandbox with salesforce/ deployed:
the local org built from that metadata stands in for the sandbox."""

from __future__ import annotations

import re
import textwrap
from datetime import date
from pathlib import Path

from revsched.config import Settings, load_settings
from revsched.doctor import run_checks
from revsched.localorg.demo import build_demo_org
from revsched.org import OrgGateway
from revsched.play import load_plays

WORKFLOW = Path(__file__).parent.parent / "examples" / "github-actions-sandbox.yml"
TODAY = date(2026, 11, 23)
# The stand-in sandbox's users, as the repository variables would name them.
AES = '["ava.patel@demo.revsched.dev", "ben.okafor@demo.revsched.dev"]'


def _written_config(values: dict[str, str]) -> str:
    """The TOML the workflow's step writes, with its secrets and variables filled in."""
    heredoc = re.search(r"<<TOML\n(.*?)\n\s*TOML\n", WORKFLOW.read_text(), re.S)
    assert heredoc, "the workflow writes its config with a TOML heredoc"
    text = textwrap.dedent(heredoc.group(1))
    filled = re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: values[m.group(1)], text)
    assert "${{" not in filled
    return filled


def test_the_example_workflow_config_passes_doctor_on_a_deployed_sandbox(tmp_path: Path):
    config = tmp_path / "revsched.sandbox.toml"
    config.write_text(
        _written_config(
            {
                "secrets.SF_USERNAME": "revsched@acme.com.sandbox",
                "runner.temp": str(tmp_path),
                "vars.WIN_BACK_AES": AES,
                "vars.WIN_BACK_SDRS": '["fay.nguyen@demo.revsched.dev"]',
                "vars.REVSCHED_HOLDING_USER": "revops@demo.revsched.dev",
            }
        )
    )
    settings = load_settings(config)
    sandbox = build_demo_org(tmp_path / "sandbox.sqlite", accounts=30, seed=7, today=TODAY)

    def connect(settings: Settings, today: date) -> OrgGateway:
        return OrgGateway(
            sandbox.salesforce, settings.api, settings.org.key_field, settings.state.org_memory
        )

    plays = load_plays(settings)
    checks = list(run_checks(settings, plays, TODAY, connect))

    assert settings.org.kind == "salesforce"
    assert [c for c in checks if not c.ok or c.warning] == []
    enabled = {n for n, p in plays.items() if p.configure(settings).enabled}
    assert enabled == {"win-back"}
    names = {c.name for c in checks}
    assert {"win-back: Account writes", "win-back: pool win-back-ae", "org memory"} <= names


def test_the_workflow_gives_revsched_the_config_and_jwt_secrets_it_reads():
    """The job's environment names the file the step writes and the variables the JWT
    login reads its secrets from: a renamed one would fail only in CI."""
    text = WORKFLOW.read_text()
    env = dict(re.findall(r"^\s+([A-Z_]+): (.+)$", text, re.M))
    written = re.search(r"cat > (\S+) <<TOML", text)
    org = Settings().org

    assert written and env["REVSCHED_CONFIG"] == written.group(1)
    assert org.consumer_key.env in env and org.private_key.env in env
    assert "revsched --log-format json doctor" in text
