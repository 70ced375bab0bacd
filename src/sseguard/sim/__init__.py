"""The fault simulator: an Anthropic-compatible upstream that plays FAULTS.md scenarios on demand."""

from sseguard.sim.content import expected_answer
from sseguard.sim.scenarios import CATALOGUE, Scenario, UnknownScenario, select
from sseguard.sim.server import SCENARIO_HEADER, Record, Simulator, start_in_thread

__all__ = [
    "CATALOGUE",
    "SCENARIO_HEADER",
    "Record",
    "Scenario",
    "Simulator",
    "UnknownScenario",
    "expected_answer",
    "select",
    "start_in_thread",
]
