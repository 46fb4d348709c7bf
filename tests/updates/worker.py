"""Run the sender in its own process, for the crash tests: python -m tests.updates.worker URL PORT RATE."""

from __future__ import annotations

import sys

from comms.clock import Clock
from comms.config import DatabaseSettings, Settings, SmtpSettings
from comms.db import make_engine, make_sessionmaker
from comms.updates.sender import send_pending


def main(url: str, port: int, rate: float) -> None:
    settings = Settings(
        database=DatabaseSettings(url=url),
        smtp=SmtpSettings(
            backend="smtp", host="127.0.0.1", port=port, timeout=2, max_per_second=rate
        ),
    )
    print(send_pending(make_sessionmaker(make_engine(url)), settings, clock=Clock()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
