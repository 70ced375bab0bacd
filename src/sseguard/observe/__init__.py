"""Observability: one record per request, and where it goes (metrics, logs, the request log).

Fed once per request when it ends; nothing here runs per event on the streaming path.
"""
