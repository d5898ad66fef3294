"""The chat widget: ``nbstream.chat()``.

``_widget`` is the chat (commands, the model switcher) and the widget it owns (synced
traits), ``_generation`` one answer on its worker thread, ``_transcript`` what a saved
notebook shows of it. ``import nbstream`` imports this package on first use only.
"""

from __future__ import annotations

from ._widget import Chat, chat

__all__ = ["Chat", "chat"]
