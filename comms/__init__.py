"""comms: client communications during an incident."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask

from comms import config as config_module
from comms.clock import Clock
from comms.config import Settings
from comms.db import make_engine, make_sessionmaker
from comms.mail.render import EmailRenderer
from comms.paths import templates_dir


def _secret_key(settings: Settings, instance_path: str) -> str:
    """Use the configured key; otherwise keep a generated one in the instance folder."""
    if settings.web.secret_key:
        return settings.web.secret_key
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, worker: bool = False
) -> Flask:
    """Build the web application from settings (default: $COMMS_CONFIG or embedded defaults).

    With `worker`, a worker thread in this process runs long operations too (`comms serve`,
    `comms demo`); under gunicorn, `comms worker` processes run them instead.
    """
    settings = settings or config_module.load()
    EmailRenderer(settings).check_all()  # a broken template stops start-up, not a send
    app = Flask(
        __name__,
        template_folder=str(templates_dir() / "web"),
        static_folder=str(Path(__file__).parent / "web" / "static"),
        instance_path=str(Path("instance").resolve()),
    )
    engine = make_engine(settings.database.url, sending_connections=settings.smtp.connections)
    app.config.update(
        SECRET_KEY=_secret_key(settings, app.instance_path),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.web.base_url.startswith("https://"),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.web.base_url.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    app.extensions["comms"] = {
        "settings": settings,
        "engine": engine,
        "sessionmaker": make_sessionmaker(engine),
        "clock": clock or Clock(),
    }

    if settings.web.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.web.trusted_proxies
        # Flask's documented way to add WSGI middleware; mypy sees a method being replaced.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )

    from comms import web

    web.init_app(app)
    if worker:
        start_worker(app)
    return app


def start_worker(app: Flask) -> None:
    """Run a worker in this process; it makes gateways like the app's own (tests swap it)."""
    from comms.worker import Worker
    from comms.zendesk import Gateway

    services = app.extensions["comms"]

    def make_gateway() -> Gateway:
        shared = services.get("gateway")
        return type(shared)(shared.settings) if shared else Gateway(services["settings"].zendesk)

    services["worker"] = Worker(
        services["sessionmaker"], services["settings"], services["clock"], make_gateway
    ).start()
