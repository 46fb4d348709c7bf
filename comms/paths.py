"""Where the templates are: inside the installed package, or at the top of a checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).parent


def templates_dir(package: Path = PACKAGE) -> Path:
    """The folder holding web/ and email/ templates, installed (wheel) or in a checkout."""
    for candidate in (package / "templates", package.parent / "templates"):
        if (candidate / "web").is_dir() and (candidate / "email").is_dir():
            return candidate
    raise FileNotFoundError(f"no templates folder next to {package}: reinstall comms")
