"""The fault simulator: an Anthropic- and OpenAI-compatible upstream that plays the scenarios of the
fault catalogue (docs/faults.md) on demand, and the behaviours tests of the gateway's policies need
(a judge model, a tool-running agent, leaked fake secrets, a late answer)."""

from sseguard.sim.content import FAKE_ANTHROPIC_KEY, FAKE_AWS_KEY_ID, expected_answer
from sseguard.sim.openai import expected_completion
from sseguard.sim.scenarios import (
    BEHAVIOURS,
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
    "BEHAVIOURS",
    "CATALOGUE",
    "FAKE_ANTHROPIC_KEY",
    "FAKE_AWS_KEY_ID",
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
