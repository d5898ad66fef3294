"""Recording and replay: a notebook's answers recorded once, replayed anywhere.

The map of the package (everything about recording and replay lives here):

* :mod:`._route` — *routing*: :func:`route` decides who answers a request (a recording
  or the live backend), under which shown request, on which clock, and where the
  exchange is recorded; ``route(...).open()`` gives the :class:`~nbstream.Stream`, and
  ``route(...).instant`` tells the live output that there is no live phase. Also what
  ``%llm models`` lists and the default model while replaying (:func:`recorded_models`,
  :func:`default_spec`).
* :mod:`._write` — *writing*: one JSON line per exchange, appended by :func:`recorder`,
  the callback routing attaches to :meth:`Stream.on_end <nbstream.Stream.on_end>`;
  secrets and machine details never reach the file.
* :mod:`._read` — *reading and matching*: load the lines, find the latest exchange
  whose request matches, or say which recorded request is closest and how it differs.
* :mod:`._playback` — *playback*: :class:`Replay`, the one ``replay`` backend (for
  ``replay:PATH`` specs and ``$NBSTREAM_REPLAY`` alike), which plays an exchange on the
  recording's own clock, at once or at the recorded pace.

The Stream knows nothing of this: it takes a backend and a clock, and reports how it
ended to its ``on_end`` callbacks. The rest of nbstream uses only the names below (and
``get_backend("replay")``, which imports :mod:`._playback` by name).
"""

from ._playback import Replay
from ._route import Route, default_spec, recorded_models, route

__all__ = ["Replay", "Route", "default_spec", "recorded_models", "route"]
