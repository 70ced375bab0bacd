"""The Messages layer: repair, accumulate, finalize and render Anthropic Messages streams.

Pure and synchronous, like h11: the caller brings the I/O.
"""
