"""The `comms` command: schema, users, tokens, check; run as a user would run it."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from comms.db import make_engine


def comms(*args, config, stdin=""):
    env = {**os.environ, "COMMS_CONFIG": str(config)}
    return subprocess.run(
        [sys.executable, "-m", "comms.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
    )


def test_init_db_create_user_and_token(tmp_path):
    db_file = tmp_path / "c.sqlite"
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db_file}"\n')
    result = comms("init-db", config=config)
    assert result.returncode == 0, result.stderr
    assert "The database is ready" in result.stdout
    assert "incidents" in inspect(make_engine(f"sqlite:///{db_file}")).get_table_names()

    result = comms(
        "create-user",
        "--email",
        "Ana@Agency.test",
        "--name",
        "Ana",
        "--role",
        "manager",
        "--password-stdin",
        config=config,
        stdin="a long enough password\n",
    )
    assert result.returncode == 0, result.stderr
    assert "Created manager ana@agency.test" in result.stdout

    result = comms(
        "create-user",
        "--email",
        "b@agency.test",
        "--name",
        "B",
        "--role",
        "viewer",
        "--password-stdin",
        config=config,
        stdin="short\n",
    )
    assert result.returncode == 1
    assert "at least 10 characters" in result.stderr

    result = comms("create-token", "--email", "ana@agency.test", config=config)
    assert result.returncode == 0
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("comms_") and len(token) > 30

    result = comms("create-token", "--email", "nobody@agency.test", config=config)
    assert result.returncode == 1 and "no user has the e-mail" in result.stderr


def test_init_db_is_repeatable(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "c.sqlite"}"\n')
    assert comms("init-db", config=config).returncode == 0
    assert comms("init-db", config=config).returncode == 0


def test_help_on_every_command(tmp_path):
    for command in ["init-db", "create-user", "create-token", "serve", "check"]:
        result = comms(command, "--help", config=tmp_path / "none.toml")
        assert result.returncode == 0 and "usage: comms" in result.stdout


def test_check_reports_an_unreachable_database(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "postgresql+psycopg://nobody@127.0.0.1:1/none"\n')
    result = comms("check", config=config)
    assert result.returncode == 1
    assert "database: FAILED" in result.stdout


def test_check_signs_in_to_zendesk_and_reaches_smtp(tmp_path):
    from comms.sandbox import Sandbox
    from comms.sandbox.mailcatcher import MailCatcher

    with (
        Sandbox(port=0, token="right", api_email="a@agency.test") as sandbox,
        MailCatcher() as catcher,
    ):
        sandbox.start()
        config = tmp_path / "config.toml"
        base = (
            f'[database]\nurl = "sqlite:///{tmp_path / "c.sqlite"}"\n'
            f'[smtp]\nbackend = "smtp"\nport = {catcher.port}\ntimeout = 2\n'
        )
        config.write_text(
            base + f'[zendesk]\nurl = "{sandbox.url}"\nemail = "a@agency.test"\ntoken = "right"\n'
        )
        assert comms("init-db", config=config).returncode == 0
        result = comms("check", config=config)
        assert result.returncode == 0, result.stdout
        assert f"zendesk: ok, signed in to {sandbox.url}" in result.stdout
        assert "<a@agency.test> (admin: can create, edit and merge tickets)" in result.stdout
        assert "smtp: ok" in result.stdout and f"127.0.0.1:{catcher.port}" in result.stdout

        config.write_text(
            base + f'[zendesk]\nurl = "{sandbox.url}"\nemail = "a@agency.test"\ntoken = "wrong"\n'
        )
        result = comms("check", config=config)
        assert result.returncode == 1
        assert "zendesk: FAILED" in result.stdout and "token" in result.stdout
        assert "wrong" not in result.stdout  # the secret is never printed

        from comms.sandbox.shapes import NO_MERGE_ROLE_ID

        sandbox.store.add_user(
            name="Bot", email="bot@agency.test", role="agent", custom_role_id=NO_MERGE_ROLE_ID
        )
        config.write_text(
            base + f'[zendesk]\nurl = "{sandbox.url}"\nemail = "bot@agency.test"\ntoken = "right"\n'
        )
        result = comms("check", config=config)
        assert result.returncode == 1
        assert (
            "zendesk: FAILED, signed in to "
            f"{sandbox.url} as Bot <bot@agency.test> (agent, role Advisor: can create and edit "
            "tickets; cannot merge tickets); comms edits, links and merges tickets: give this "
            "user an agent role that can"
        ) in result.stdout


def test_check_says_when_smtp_is_unreachable(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "c.sqlite"}"\n'
        '[smtp]\nbackend = "smtp"\nport = 1\ntimeout = 2\n'
    )
    result = comms("check", config=config)
    assert result.returncode == 1
    assert (
        "smtp: FAILED, the mail server at 127.0.0.1:1 cannot be reached: connection refused"
        in result.stdout
    )


def test_a_broken_template_stops_start_up_with_its_name(tmp_path):
    import shutil

    from comms.paths import templates_dir

    copy = tmp_path / "email"
    shutil.copytree(templates_dir() / "email", copy)
    body = copy / "resolved" / "body.html"
    body.write_text(body.read_text() + "{% if %}")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[web]\nemail_templates = "{copy}"\n[database]\nurl = "sqlite:///{tmp_path / "c.sqlite"}"\n'
    )
    for command in (["serve", "--port", "1"], ["scheduler", "--once"]):
        result = comms(*command, config=config)
        assert result.returncode == 2, result.stderr
        assert "e-mail template problem" in result.stderr and "resolved/body.html" in result.stderr
        assert "Traceback" not in result.stderr


def test_commands_before_init_db_say_to_run_it(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "c.sqlite"}"\n')
    result = comms("create-token", "--email", "a@agency.test", config=config)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "has no comms tables yet: run `comms init-db` first" in result.stderr
    result = comms("check", config=config)
    assert "database: FAILED" in result.stdout and "run comms init-db" in result.stdout


def test_init_db_against_an_unreachable_server_is_one_clear_line(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "postgresql+psycopg://nobody@127.0.0.1:1/none"\n')
    result = comms("init-db", config=config)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        "cannot be used: connection failed" in result.stderr
        and "Check [database] url" in result.stderr
    )


def installed(*args, config, stdin=""):
    """Run the installed `comms` console script, as the README tells a user to."""
    script = Path(sys.executable).with_name("comms")
    env = {**os.environ, "COMMS_CONFIG": str(config)}
    return subprocess.run(
        [str(script), *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_create_user_without_a_terminal_points_at_password_stdin(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "c.sqlite"}"\n')
    assert installed("init-db", config=config).returncode == 0
    args = ["create-user", "--email", "a@agency.test", "--name", "A", "--role", "admin"]
    result = installed(*args, config=config)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "pipe it in with --password-stdin" in result.stderr
    result = installed(*args, "--password-stdin", config=config, stdin="a long enough password\n")
    assert result.returncode == 0 and "Created admin a@agency.test" in result.stdout


def test_a_busy_port_names_the_port_option(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "c.sqlite"}"\n')
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for command in ("serve", "demo"):
            extra = ["--folder", str(tmp_path / "demo")] if command == "demo" else []
            result = installed(command, "--port", str(port), *extra, config=config)
            assert result.returncode == 1, result.stderr
            assert "Traceback" not in result.stderr
            assert f"127.0.0.1:{port} is already in use" in result.stderr
            assert f"choose another port with --port, e.g. comms {command} --port" in result.stderr


def test_the_deploying_gunicorn_command_serves_comms(tmp_path):
    import time

    import requests

    config = tmp_path / "config.toml"
    config.write_text(
        f'[web]\nsecret_key = "test"\n[database]\nurl = "sqlite:///{tmp_path / "c.sqlite"}"\n'
    )
    assert installed("init-db", config=config).returncode == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "-w", "1", "-b", f"127.0.0.1:{port}", "comms:create_app()"]
    env = {**os.environ, "COMMS_CONFIG": str(config)}
    server = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120  # a busy machine starts it slowly
        while True:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):  # still starting
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        assert health.json() == {"status": "ok"}
        assert "Sign in" in requests.get(f"http://127.0.0.1:{port}/login", timeout=5).text
    finally:
        server.terminate()
        server.wait()
        server.stderr.close()


def test_comms_worker_runs_what_the_web_recorded_and_stops_on_sigterm(tmp_path):
    import signal
    import time

    from comms.clock import Clock
    from comms.db import make_sessionmaker
    from comms.incidents.models import Incident
    from comms.operations import queue

    config = tmp_path / "config.toml"
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    config.write_text(
        f'[database]\nurl = "{url}"\n[worker]\npoll_seconds = 0.2\n'
        '[zendesk]\nurl = "http://127.0.0.1:9"\nemail = "comms@agency.test"\ntoken = "t"\n'
    )
    assert installed("init-db", config=config).returncode == 0
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)

    def record_refresh() -> int:
        with sessions() as db_session:
            incident = db_session.query(Incident).first() or Incident(
                title="Sites down", severity="major", declared_at=Clock().now(), keywords=[]
            )
            db_session.add(incident)
            db_session.flush()
            operation = queue.enqueue(
                db_session,
                kind="refresh",
                key=f"refresh:{incident.id}",
                incident_id=incident.id,
                params={},
                total=0,
                by="manager@agency.test",
                now=Clock().now(),
            )
            db_session.commit()
            return operation.id

    def state(operation_id: int) -> str:
        with sessions() as db_session:
            return queue.get(db_session, operation_id).state

    first = record_refresh()
    script = Path(sys.executable).with_name("comms")
    env = {**os.environ, "COMMS_CONFIG": str(config)}
    worker = subprocess.Popen(
        [str(script), "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while state(first) in ("queued", "running"):
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        assert state(first) == "done"
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0 and "comms worker: 1 worker(s) running operations" in output
    second = record_refresh()
    result = installed("scheduler", "--once", "--workers", "1", config=config)
    assert result.returncode == 0, result.stderr
    assert state(second) == "done"
    engine.dispose()


def test_comms_serve_says_whether_it_runs_a_worker(tmp_path):
    import time

    import requests

    config = tmp_path / "config.toml"
    config.write_text(
        f'[web]\nsecret_key = "test"\n[database]\nurl = "sqlite:///{tmp_path / "c.sqlite"}"\n'
    )
    assert installed("init-db", config=config).returncode == 0
    script = Path(sys.executable).with_name("comms")
    env = {**os.environ, "COMMS_CONFIG": str(config)}
    for extra, said in (
        ([], "a worker runs long operations (refresh, link, merge) in this process"),
        (["--no-worker"], "no worker in this process; run `comms worker`"),
    ):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen(
            [str(script), "serve", "--port", str(port), *extra],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok
                    break
                except (requests.ConnectionError, requests.Timeout):
                    assert server.poll() is None and time.monotonic() < deadline
                    time.sleep(0.1)
        finally:
            server.terminate()
            _, errors = server.communicate(timeout=60)
        assert said in errors


def test_a_second_scheduler_says_it_stands_by_and_again_when_it_takes_over(tmp_path):
    import queue
    import signal
    import threading

    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "c.sqlite"}"\n[schedule]\ntick_seconds = 1\n'
    )
    assert installed("init-db", config=config).returncode == 0
    script = Path(sys.executable).with_name("comms")
    env = {**os.environ, "COMMS_CONFIG": str(config)}

    readers: list[threading.Thread] = []
    started: list[subprocess.Popen] = []

    def start() -> tuple[subprocess.Popen, queue.Queue]:
        process = subprocess.Popen(
            [str(script), "scheduler"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        lines: queue.Queue = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout])
        reader.start()
        readers.append(reader)
        return process, lines

    def said(lines: queue.Queue, words: str) -> str:
        while True:
            line = lines.get(timeout=120)  # a loaded machine starts slowly
            if "comms scheduler: " in line and "ticking" not in line and "worker" not in line:
                assert words in line, line
                return line

    try:
        first, first_lines = start()
        said(first_lines, "comms scheduler: active")
        _, second_lines = start()
        said(second_lines, "standing by: another scheduler is active; this one takes over")
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)
        said(second_lines, "taking over: the active scheduler has stopped")
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        for reader in readers:
            reader.join(timeout=60)
        for process in started:
            process.stdout.close()
