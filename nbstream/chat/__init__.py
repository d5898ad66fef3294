"""The chat widget: ``nbstream.chat()``.

``_widget`` is the widget (traits, commands, the model switcher), ``_generation`` one
answer on its worker thread, ``_transcript`` what a saved notebook shows of it.
"""

from __future__ import annotations

from ._widget import Chat, chat

__all__ = ["Chat", "chat"]
