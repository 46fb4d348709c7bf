"""`comms check` signs in to incident.io and Slack and says plainly what is wrong (as typed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from comms.sandbox.incident_io import IncidentIoEmulator, new_secret
from comms.sandbox.slack import SlackEmulator

COMMS = str(Path(sys.executable).parent / "comms")  # the installed console script


def check(config: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [COMMS, "check"],
        capture_output=True,
        text=True,
        env={**os.environ, "COMMS_CONFIG": str(config), **env},
    )


def lines(result: subprocess.CompletedProcess, name: str) -> str:
    return "\n".join(line for line in result.stdout.splitlines() if line.startswith(name + ":"))


def test_check_signs_in_to_incident_io_and_slack(tmp_path):
    config = tmp_path / "config.toml"
    base = f'[database]\nurl = "sqlite:///{tmp_path / "c.sqlite"}"\n'
    with IncidentIoEmulator() as incident_io, SlackEmulator() as slack:
        slack.add_token("xoxb-no-scope", "channels:read")
        config.write_text(
            base
            + f'[incident_io]\nurl = "{incident_io.url}"\n'
            + f'[slack]\nurl = "{slack.url}"\nsigning_secret = "s3cret"\n'
        )
        secret = new_secret()
        good = check(
            config,
            COMMS_INCIDENT_IO_API_KEY=incident_io.api_key,
            COMMS_INCIDENT_IO_WEBHOOK_SECRET=secret,
            COMMS_SLACK_BOT_TOKEN=slack.bot_token,
        )
        assert lines(good, "incident_io") == (
            f"incident_io: ok, signed in to incident.io at {incident_io.url} (4 severities)"
        )
        assert (
            lines(good, "slack") == "slack: ok, signed in to Slack (Brightwave (sandbox)) as comms"
        )

        bad = check(
            config,
            COMMS_INCIDENT_IO_API_KEY="wrong-key",
            COMMS_INCIDENT_IO_WEBHOOK_SECRET="not-whsec",
            COMMS_SLACK_BOT_TOKEN="xoxb-wrong",
        )
        assert bad.returncode == 1
        assert lines(bad, "incident_io") == (
            "incident_io: FAILED, incident.io refused the API key: check [incident_io] api_key "
            "(COMMS_INCIDENT_IO_API_KEY)"
        )
        assert lines(bad, "slack") == (
            "slack: FAILED, Slack refused auth.test: invalid_auth (Slack refused the bot token: "
            "check [slack] bot_token (COMMS_SLACK_BOT_TOKEN))"
        )
        assert "wrong-key" not in bad.stdout and "xoxb-wrong" not in bad.stdout

        unscoped = check(
            config,
            COMMS_INCIDENT_IO_API_KEY=incident_io.api_key,
            COMMS_INCIDENT_IO_WEBHOOK_SECRET="not-whsec",
            COMMS_SLACK_BOT_TOKEN="xoxb-no-scope",
        )
        assert "webhook_secret is not the whsec_… signing secret" in lines(unscoped, "incident_io")
        assert lines(unscoped, "slack").endswith(
            "lacks the chat:write scope (it has channels:read): add it in the Slack app and "
            "reinstall it"
        )


def test_check_says_incident_io_and_slack_are_optional_when_not_configured(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "c.sqlite"}"\n')
    result = check(config)
    assert lines(result, "incident_io") == (
        "incident_io: not configured, comms follows no incident.io account ([incident_io] api_key)"
    )
    assert lines(result, "slack") == (
        "slack: not configured, comms posts nothing to Slack ([slack] bot_token)"
    )
