"""Run the sender in its own process, for the crash tests.

python -m tests.updates.worker URL PORT RATE [CONNECTIONS [LIMIT]]
"""

from __future__ import annotations

import sys

from comms.clock import Clock
from comms.config import DatabaseSettings, Settings, SmtpSettings
from comms.db import make_engine, make_sessionmaker
from comms.updates.sender import send_pending


def main(url: str, port: int, rate: float, connections: int = 4, limit: int | None = None) -> None:
    settings = Settings(
        database=DatabaseSettings(url=url),
        smtp=SmtpSettings(
            backend="smtp",
            host="127.0.0.1",
            port=port,
            timeout=2,
            max_per_second=rate,
            connections=connections,
        ),
    )
    sessions = make_sessionmaker(make_engine(url))
    print(send_pending(sessions, settings, clock=Clock(), limit=limit), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), *map(int, sys.argv[4:6]))
