"""OpenAI chat.completions <-> Anthropic Messages: requests, responses and streams, both directions.

Pure and synchronous like ``protocol``: the gateway brings the I/O. The canonical stream is always
Messages events; these modules are the edges that turn other formats into it and back.
"""
