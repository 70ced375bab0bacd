"""Teams: gateway keys, their limits and budgets, and the state replicas share (docs/configuration.md).

The gateway asks ``gate.Gate`` once when a request starts and once when it ends; nothing here runs
per event.
"""
