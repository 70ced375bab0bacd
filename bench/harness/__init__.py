"""The end-to-end benchmark harness: a paced upstream, a load client and the proxies under test.

Each piece runs in its own process so that a proxy's CPU accounting holds only the proxy's work.
``bench/run.py`` drives them; the modules here can also be run alone (``python -m harness.upstream``).
"""
