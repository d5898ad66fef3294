"""Recording and replay: a notebook's answers recorded once, replayed anywhere.

``_write`` appends exchanges to a JSON-lines file, ``_read`` loads and matches them,
``_playback`` is the ``replay`` backend that plays one back.
"""
