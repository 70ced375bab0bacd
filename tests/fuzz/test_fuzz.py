"""The suite's tier of the fuzz targets: each runs a bounded number of generated inputs.

The same targets run at volume in ``bench/fuzz.py``; docs/fuzzing.md says what each checks. An
input that runs into a known bug (``targets.KNOWN_BUGS``, each pinned by an xfail test in
``test_regressions.py``) passes here, so the suite stays green until the fix; any other failure
fails the test with hypothesis's shrunk input.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from .targets import TARGETS, tolerating_known_bugs

# Inputs per target: the whole folder takes about 12 s here (25 s while the other core is busy).
EXAMPLES = {
    "decoder": 400,
    "decoder_bytes": 300,
    "repair": 300,
    "repair_bytes": 400,
    "resume": 400,
    "chunks_in": 300,
    "chunks_out": 250,
    "requests": 300,
}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_target_holds_its_invariants(name: str) -> None:
    target = TARGETS[name]
    fuzz = settings(
        max_examples=EXAMPLES[name],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )(given(target.strategy)(tolerating_known_bugs(target)))
    fuzz()
