"""`hotline serve` with another app factory: the webhook benchmark's ceiling runs under the very command, uvicorn
options and logging configuration production uses, only the application differs.

    python -m bench.serve bench.baseline_app:create_baseline_app serve [hotline serve options]"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

from hotline.cli import app as cli

PRODUCTION_FACTORY = "hotline.main:create_app"


def main(argv: list[str]) -> None:
    """Run `hotline argv[1:]` (serve and its options), serving the factory argv[0] instead of the hotline's."""
    factory, options = argv[0], argv[1:]
    run = uvicorn.run

    def swapped(application: Any, *args: Any, **kwargs: Any) -> None:
        if application != PRODUCTION_FACTORY:
            sys.exit(f"bench.serve: hotline serve now runs {application!r}, not {PRODUCTION_FACTORY}: update it")
        run(factory, *args, **kwargs)

    uvicorn.run = swapped  # type: ignore[assignment]  # hotline.cli.server calls uvicorn.run on the module
    cli(options, prog_name="hotline")


if __name__ == "__main__":
    main(sys.argv[1:])
