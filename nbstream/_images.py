"""Which notebook values are images, and their bytes as a server receives them.

Stub: the notebook-context work fills this in (matplotlib figures, PIL images,
``IPython.display.Image``, image outputs). Until then nothing is an image.
"""

from __future__ import annotations

from typing import Any

from ._types import Image


def to_image(value: Any) -> Image | None:
    """``value`` as an :class:`Image`, or ``None`` when it is not an image."""
    return None
