"""The fault simulator: an Anthropic- and OpenAI-compatible upstream that plays the scenarios of the
fault catalogue (docs/faults.md) on demand."""

from sseguard.sim.content import expected_answer
from sseguard.sim.openai import expected_completion
from sseguard.sim.scenarios import (
    CATALOGUE,
    OPENAI_CATALOGUE,
    SCENARIOS,
    Scenario,
    ScenarioError,
    UnknownScenario,
    WrongEndpoint,
    select,
)
from sseguard.sim.server import SCENARIO_HEADER, Record, Simulator, start_in_thread

__all__ = [
    "CATALOGUE",
    "OPENAI_CATALOGUE",
    "SCENARIOS",
    "SCENARIO_HEADER",
    "Record",
    "Scenario",
    "ScenarioError",
    "Simulator",
    "UnknownScenario",
    "WrongEndpoint",
    "expected_answer",
    "expected_completion",
    "select",
    "start_in_thread",
]
