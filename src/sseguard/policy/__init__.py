"""Policies on the live stream: hooks on the request, on each repaired event and on completion."""
