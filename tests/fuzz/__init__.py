"""Fuzz targets over the pure layers (SSE codec, repair, translation), with invariants.

One definition per target (``targets.TARGETS``) serves two tiers: the test suite runs each with a
few hundred examples (``test_fuzz.py``), ``bench/fuzz.py`` runs them at volume. See
docs/fuzzing.md.

The targets reuse the strategies and helpers of the existing property tests, which live in test
modules of sibling folders: those folders go on ``sys.path`` here exactly as pytest's default
(prepend) import mode puts them there when it collects them, so a module imported from here and
the one pytest collects are the same object, and ``bench/fuzz.py`` can import the targets outside
pytest.
"""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parent.parent
for _folder in (_TESTS, _TESTS / "sse", _TESTS / "protocol", _TESTS / "translate"):
    if str(_folder) not in sys.path:
        sys.path.append(str(_folder))
