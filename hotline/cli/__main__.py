"""`python -m hotline.cli`: the same command as `hotline` (every group registered before it runs)."""

from __future__ import annotations

import sys

from hotline.cli import app

sys.exit(app())
