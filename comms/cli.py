"""The `comms` command."""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from comms import config as config_module
from comms.config import ConfigError, Settings
from comms.mail.render import TemplateProblem

if TYPE_CHECKING:  # the commands import what they use late, so `comms --help` stays quick
    from sqlalchemy.orm import Session

    from comms.auth.models import User

Command = Callable[[argparse.Namespace, Settings], int]
COMMANDS: dict[str, Command] = {}


def command(function: Command) -> Command:
    COMMANDS[function.__name__.removeprefix("cmd_").replace("_", "-")] = function
    return function


def _session(settings: Settings):
    from comms.db import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(settings.database.url))()


@command
def cmd_init_db(args: argparse.Namespace, settings: Settings) -> int:
    from comms.contacts.stored import rebuild_unbuilt
    from comms.db import make_engine
    from comms.migrate import upgrade

    upgrade(make_engine(settings.database.url))
    with _session(settings) as db_session:
        rebuild_unbuilt(db_session, settings)  # lists of incidents from before they were stored
        db_session.commit()
    print(f"The database is ready: {_safe_url(settings.database.url)}")
    return 0


@command
def cmd_create_user(args: argparse.Namespace, settings: Settings) -> int:
    from comms.auth.service import AuthError, create_user
    from comms.clock import Clock

    password = _read_password(args, "create-user")
    if password is None:
        return 2
    with _session(settings) as db_session:
        try:
            user = create_user(
                db_session,
                email=args.email,
                name=args.name,
                role=args.role,
                password=password,
                now=Clock().now(),
            )
        except AuthError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        db_session.commit()
        print(f"Created {user.role} {user.email}.")
    return 0


def _read_password(args: argparse.Namespace, command: str) -> str | None:
    """The password from stdin (--password-stdin) or asked twice at the terminal."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        print(
            "error: there is no terminal to ask for the password; pipe it in with "
            f"--password-stdin, e.g. printf '%s\\n' \"$PASSWORD\" | comms {command} ... "
            "--password-stdin",
            file=sys.stderr,
        )
        return None
    password = getpass.getpass("Password (10 characters or more): ")
    if getpass.getpass("Again: ") != password:
        print("error: the two passwords differ.", file=sys.stderr)
        return None
    return password


def _user(db_session: Session, email: str, *, hint: str = "") -> User | None:
    """The user with this e-mail, or None after saying there is none."""
    from comms.auth.service import user_by_email

    user = user_by_email(db_session, email)
    if user is None:
        print(
            f"error: no user has the e-mail {email}{'; ' + hint if hint else ''}.", file=sys.stderr
        )
    return user


@command
def cmd_set_password(args: argparse.Namespace, settings: Settings) -> int:
    from comms.auth.service import AuthError, set_password

    password = _read_password(args, "set-password")
    if password is None:
        return 2
    with _session(settings) as db_session:
        user = _user(db_session, args.email)
        if user is None:
            return 1
        try:
            set_password(db_session, user, password)
        except AuthError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        db_session.commit()
    print(f"New password set for {user.email}; every session of theirs has ended.")
    return 0


@command
def cmd_deactivate_user(args: argparse.Namespace, settings: Settings) -> int:
    from comms.auth.service import deactivate

    with _session(settings) as db_session:
        user = _user(db_session, args.email)
        if user is None:
            return 1
        deactivate(db_session, user)
        db_session.commit()
    print(f"Deactivated {user.email}: they cannot sign in, their sessions and API tokens are over.")
    return 0


@command
def cmd_create_token(args: argparse.Namespace, settings: Settings) -> int:
    from comms.auth.service import create_token
    from comms.clock import Clock

    with _session(settings) as db_session:
        user = _user(db_session, args.email, hint="create one first")
        if user is None:
            return 1
        token = create_token(db_session, user=user, now=Clock().now())
        db_session.commit()
    print(f"A new API token for {user.email}; it is shown only once:")
    print(token)
    return 0


@command
def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from comms import create_app

    if not port_free(args.host, args.port):
        print(busy_port(args.host, args.port, "serve"), file=sys.stderr)
        return 1
    app = create_app(settings, worker=not args.no_worker)
    print(
        "comms serve: no worker in this process; run `comms worker` for long operations"
        if args.no_worker
        else "comms serve: a worker runs long operations (refresh, link, merge) in this process",
        file=sys.stderr,
        flush=True,
    )
    app.run(host=args.host, port=args.port)
    return 0


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now."""
    import socket

    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def busy_port(host: str, port: int, command: str) -> str:
    """The one line saying a port is taken, and how to choose another."""
    return (
        f"error: {host}:{port} is already in use by another program; "
        f"choose another port with --port, e.g. comms {command} --port {port + 1}"
    )


@command
def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from comms.checks import run_checks

    return run_checks(settings)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="comms",
        description="Client communications during an incident. Reads $COMMS_CONFIG "
        "(default ./config.toml); without a file it runs on embedded defaults.",
    )
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("init-db", help="create or upgrade the database schema")
    user = sub.add_parser("create-user", help="add a staff user")
    user.add_argument("--email", required=True)
    user.add_argument("--name", required=True)
    user.add_argument("--role", required=True, choices=["admin", "manager", "viewer"])
    user.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    change = sub.add_parser("set-password", help="give a user a new password (ends their sessions)")
    change.add_argument("--email", required=True)
    change.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    deactivate = sub.add_parser(
        "deactivate-user", help="stop a user signing in; ends their sessions and API tokens"
    )
    deactivate.add_argument("--email", required=True)
    token = sub.add_parser("create-token", help="print a new API token for a user (last line)")
    token.add_argument("--email", required=True)
    serve = sub.add_parser("serve", help="run the web app (production: gunicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument(
        "--no-worker", action="store_true", help="leave long operations to `comms worker`"
    )
    worker = sub.add_parser(
        "worker", help="run long operations (contact refresh, link, merge); run any number"
    )
    worker.add_argument("--workers", type=int, default=1, help="worker threads (default 1)")
    sub.add_parser("check", help="validate the config and reach the database, Zendesk and SMTP")
    sub.add_parser(
        "sandbox", help="run the Zendesk sandbox (try: comms sandbox --help)", add_help=False
    )
    scheduler = sub.add_parser(
        "scheduler", help="send due client updates and reminders (one active; others stand by)"
    )
    scheduler.add_argument("--once", action="store_true", help="run one tick and exit")
    scheduler.add_argument(
        "--workers", type=int, default=0, help="also run this many workers (default 0)"
    )
    demo = sub.add_parser(
        "demo", help="everything on this machine with an incident under way (no config needed)"
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=5000, help="the web port (default 5000)")
    demo.add_argument("--cadence", type=int, default=2, help="minutes between client updates")
    demo.add_argument("--folder", default="instance/demo", help="where the demo keeps its data")
    demo.add_argument(
        "--second-incident",
        type=float,
        default=3,
        help="minutes until a second incident is declared in incident.io (default 3)",
    )
    return root


@command
def cmd_scheduler(args: argparse.Namespace, settings: Settings) -> int:
    from comms.updates.scheduler import run_scheduler

    if args.workers < 0:
        print("error: --workers is 0 or more.", file=sys.stderr)
        return 2
    return run_scheduler(settings, once=args.once, workers=args.workers)


@command
def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from comms.worker import run_workers

    if args.workers < 1:
        print("error: --workers is 1 or more.", file=sys.stderr)
        return 2
    return run_workers(settings, count=args.workers)


@command
def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from comms.demo import run

    if args.cadence < 1:
        print("error: --cadence is whole minutes, 1 or more.", file=sys.stderr)
        return 2
    return run(
        settings,
        host=args.host,
        port=args.port,
        cadence=args.cadence,
        folder=Path(args.folder),
        second_incident_minutes=args.second_incident,
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["sandbox"], ["demo"]):
        # Ctrl-C stops them even when started from a script in the background, which
        # leaves SIGINT ignored (and Python then never raises KeyboardInterrupt).
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if argv[:1] == ["sandbox"]:
        # The sandbox parses its own options (argparse's REMAINDER refuses a leading --option).
        from comms.sandbox import main as sandbox_main

        return sandbox_main(argv[1:])
    args = parser().parse_args(argv)
    try:
        settings = config_module.load()
    except ConfigError as error:
        print(f"comms: configuration error: {error}", file=sys.stderr)
        return 2
    if settings.source == "embedded defaults" and args.command not in ("sandbox", "demo"):
        print("comms: no config file found; running on embedded defaults.", file=sys.stderr)
    try:
        return COMMANDS[args.command](args, settings)
    except TemplateProblem as error:
        print(f"comms: e-mail template problem: {error}", file=sys.stderr)
        return 2
    except SQLAlchemyError as error:
        print(f"comms: {database_problem(error, settings)}", file=sys.stderr)
        return 1


def database_problem(error: Exception, settings: Settings) -> str:
    """Say what is wrong with the database in a sentence, and what to do."""
    text = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    where = _safe_url(settings.database.url)
    if "no such table" in text or "does not exist" in text and "relation" in text:
        return f"the database {where} has no comms tables yet: run `comms init-db` first."
    return f"the database {where} cannot be used: {text}. Check [database] url."


if __name__ == "__main__":
    sys.exit(main())
