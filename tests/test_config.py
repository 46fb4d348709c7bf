"""Each bad key gives one clear message; secrets come from the environment."""

import subprocess
import sys

import pytest

from comms import config
from comms.config import ConfigError


def load_text(tmp_path, text, environ=None):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return config.load(path, environ=environ or {})


def test_no_file_runs_on_embedded_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = config.load(environ={})
    assert settings.source == "embedded defaults"
    assert settings.schedule.cadence_minutes == {
        "critical": 60,
        "major": 60,
        "minor": 60,
        "trivial": 0,
    }
    assert settings.contacts.senior_at == ("critical", "major")


def test_example_config_is_valid():
    settings = config.load("config.example.toml", environ={})
    assert settings.web.timezone == "Europe/London"


def test_a_good_file_is_read_into_frozen_settings(tmp_path):
    settings = load_text(
        tmp_path, '[web]\ncompany_name = "Acme"\n[schedule]\ncadence_minutes = {minor = 120}\n'
    )
    assert settings.web.company_name == "Acme"
    assert settings.schedule.cadence_minutes["minor"] == 120
    assert settings.schedule.cadence_minutes["critical"] == 60
    with pytest.raises(AttributeError):
        settings.web.company_name = "other"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[web]\ntimezone = "Mars/Olympus"',
            "web.timezone = 'Mars/Olympus' is not valid: expected an IANA",
        ),
        ('[web]\nbase_url = "comms.example"', "web.base_url = 'comms.example' is not valid"),
        (
            '[web]\ncolour = "blue"',
            "web.colour = 'blue' is not valid: expected one of the keys of [web]",
        ),
        ("[webb]\nx = 1", "webb = {'x': 1} is not valid: expected a section"),
        ('[smtp]\nport = "25"', "smtp.port = '25' is not valid: expected a number"),
        ("[smtp]\nport = 70000", "smtp.port = 70000 is not valid: expected a port number"),
        ('[smtp]\nbackend = "carrier-pigeon"', "smtp.backend = 'carrier-pigeon' is not valid"),
        ('[smtp]\nstarttls = "yes"', "smtp.starttls = 'yes' is not valid: expected true or false"),
        ("[smtp]\nstarttls = true\nssl = true", "smtp.ssl = True is not valid"),
        ("[smtp]\nconnections = 0", "smtp.connections = 0 is not valid: expected 1 to 50"),
        (
            '[web]\nemail_templates = "/no/such/folder"',
            "web.email_templates = '/no/such/folder' is not valid: expected a folder",
        ),
        (
            '[smtp]\nfrom_address = "not an address"',
            "smtp.from_address = 'not an address' is not valid",
        ),
        ('[smtp]\nreply_to = "a@b.test\\nBcc: c@d.test"', "smtp.reply_to = "),
        (
            '[zendesk]\nsubdomain = "acme"\nurl = "http://127.0.0.1:8765"',
            "zendesk.url = 'http://127.0.0.1:8765' is not valid: expected empty when zendesk.subdomain is set",
        ),
        ('[database]\nurl = "mysql://x"', "database.url = 'mysql://x' is not valid"),
        ('[zendesk]\nurl = "localhost:8765"', "zendesk.url = 'localhost:8765' is not valid"),
        (
            "[schedule]\ncadence_minutes = {urgent = 30}",
            "schedule.cadence_minutes.urgent = 30 is not valid",
        ),
        ('[schedule]\nworking_hours = "9-5"', "schedule.working_hours = '9-5' is not valid"),
        ('[schedule]\nworking_hours = "18:00-10:00"', "expected a start before the end"),
        (
            '[schedule]\nworking_days = ["monday"]',
            "schedule.working_days = ['monday'] is not valid",
        ),
        (
            '[contacts]\nregular = "some"',
            'contacts.regular = \'some\' is not valid: expected "all" or "tagged"',
        ),
        ('[contacts]\nsenior_at = ["urgent"]', "contacts.senior_at = ['urgent'] is not valid"),
        (
            '[contacts]\npriority_org_tags = "vip"',
            "contacts.priority_org_tags = 'vip' is not valid",
        ),
    ],
)
def test_each_bad_key_names_key_value_and_expectation(tmp_path, text, message):
    with pytest.raises(ConfigError) as raised:
        load_text(tmp_path, text)
    assert message in str(raised.value)


def test_broken_toml_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_text(tmp_path, "[web\n")


def test_missing_named_file_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="does not exist: create it from config.example.toml"):
        config.load(environ={"COMMS_CONFIG": str(tmp_path / "nope.toml")})


def test_secrets_come_from_the_environment(tmp_path):
    settings = load_text(
        tmp_path,
        '[zendesk]\ntoken = "from-file"\n',
        environ={
            "COMMS_ZENDESK_TOKEN": "from-env",
            "COMMS_SMTP_PASSWORD": "pw",
            "COMMS_SECRET_KEY": "sk",
            "COMMS_WEBHOOK_SECRET": "wh",
        },
    )
    assert settings.zendesk.token == "from-env"
    assert settings.smtp.password == "pw"
    assert settings.web.secret_key == "sk"
    assert settings.zendesk.webhook_secret == "wh"


def test_the_command_exits_non_zero_without_a_traceback(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[smtp]\nport = "x"\n')
    result = subprocess.run(
        [sys.executable, "-m", "comms.cli", "check"],
        capture_output=True,
        text=True,
        env={"COMMS_CONFIG": str(path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "smtp.port = 'x' is not valid: expected a number" in result.stderr
    assert "Traceback" not in result.stderr
