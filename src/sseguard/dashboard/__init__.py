"""``GET /dashboard``: what sseguard saved, for operators — live requests, per-deployment health
over a time range (what broke and what was repaired, by fault ID), and one request in full.

A small read-only app beside the gateway's endpoints: ``routes.Dashboard`` is the one thing the
gateway dispatches to; it reads the request log through the store's query functions, the raw
captures from their folder, and finished records from ``live.Live`` (a gateway observer).
"""
