"""What a request cost, from the usage its upstreams billed (every attempt, retry and resume).

Prices are US dollars per million tokens, by client model glob (``prices`` in the config). Spend
is counted in whole micro-dollars, rounded up, so that no request is free by rounding.
"""

from __future__ import annotations

import math

from sseguard.config.teams import Price
from sseguard.observe.record import RequestRecord

MICROS = 1_000_000


def cost_micros(price: Price, rec: RequestRecord) -> int:
    """The request's billed tokens at ``price``, in micro-dollars: a price per million tokens
    times tokens is a million times the dollars, which is the micro-dollars."""
    cache_write = price.cache_write if price.cache_write is not None else price.input * 1.25
    cache_read = price.cache_read if price.cache_read is not None else price.input * 0.1
    per_million = (
        rec.billed_input_tokens * price.input
        + rec.billed_output_tokens * price.output
        + rec.billed_cache_creation_input_tokens * cache_write
        + rec.billed_cache_read_input_tokens * cache_read
    )
    return math.ceil(per_million - 1e-9) if per_million > 0 else 0


def rate_tokens(rec: RequestRecord) -> int:
    """What a request counts against ``tpm``: billed input (uncached and cache writes) and output.
    Cache reads are left out, as providers' own token rate limits leave them out."""
    return (
        rec.billed_input_tokens + rec.billed_cache_creation_input_tokens + rec.billed_output_tokens
    )


def dollars(micros: int) -> float:
    return micros / MICROS
