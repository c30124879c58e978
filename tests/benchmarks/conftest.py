"""The benchmark scripts are not a package: they import their helpers (``_common``,
``_selection``, ...) from their own folder, so the tests put that folder on ``sys.path``."""

from __future__ import annotations

import sys

from tests.conftest import REPO

BENCHMARKS = str(REPO / "benchmarks")
if BENCHMARKS not in sys.path:
    sys.path.insert(0, BENCHMARKS)
