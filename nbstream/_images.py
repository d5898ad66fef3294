"""Which notebook values are images, and their bytes as a server receives them.

:func:`to_image` turns a matplotlib figure (or the axes a plot call returns), a PIL
image, an ``IPython.display.Image``, or any output that draws itself as PNG or JPEG
(``_repr_png_``/``_repr_jpeg_``, what ``Out[n]`` often holds) into an
:class:`~nbstream._types.Image`; anything else is not an image (``None``).

Types are recognised by the module their class comes from, never by importing
matplotlib or PIL: a prompt with no figure in it must not pay the second it takes to
import matplotlib, and nbstream does not depend on either. Only a value that comes from
one of them is handed back to it to be encoded.

A figure is written as PNG at its own size and resolution (``figsize × dpi`` pixels, not
trimmed), without matplotlib's "Software" tag, so the same figure gives the same bytes
and the same hash on every machine with the same matplotlib: recordings match images by
that hash (see :mod:`nbstream.recording`). An ``IPython.display.Image`` that only links
to a URL is refused with a sentence: nbstream never fetches anything on the user's
behalf.

The rest is what every place that shows an image without its bytes needs, so it is said
once: :func:`placeholder` (``--dry-run``, transcripts) and :func:`summary` (recordings).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable
from typing import Any

from ._exceptions import UsageError
from ._secrets import safe_url
from ._types import Image, Message, Request

# Magic numbers of the formats vision APIs take (OpenAI: PNG, JPEG, GIF, WEBP).
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def to_image(value: Any) -> Image | None:
    """``value`` as an :class:`Image`, or ``None`` when it is not an image.

    Raises :class:`UsageError` for an image that cannot be sent (a URL-only
    ``IPython.display.Image``, an output whose image data is unreadable).
    """
    if isinstance(value, Image):
        return value
    module = type(value).__module__ or ""
    if module.startswith("matplotlib."):
        figure = value if hasattr(value, "savefig") else getattr(value, "figure", None)
        if figure is not None and hasattr(figure, "savefig"):
            return _from_figure(figure)
    if module.startswith("PIL.") and hasattr(value, "save") and hasattr(value, "size"):
        return _from_pil(value)
    if module.startswith("IPython.") and type(value).__name__ == "Image":
        return _from_ipython_image(value)
    for method in ("_repr_png_", "_repr_jpeg_"):
        render = getattr(type(value), method, None)
        if render is not None:
            data = _repr_bytes(render(value))
            if data is not None:
                return from_bytes(data)
    return None


def from_bytes(data: bytes) -> Image:
    """An encoded image file's bytes as an :class:`Image`: the bytes decide the type.

    A declared type (a browser's, an ``IPython.display.Image``'s ``format``) is not
    trusted: a server told ``image/png`` about JPEG bytes may refuse them or misread them.
    """
    mime = _sniff(data)
    if mime is None:
        raise UsageError(
            f"The image data ({len(data):,} bytes) is not PNG, JPEG, GIF or WEBP; "
            "save it in one of those formats and send that."
        )
    width, height = _pixel_size(data) or (None, None)
    return Image(bytes(data), mime, width, height)


def _from_figure(figure: Any) -> Image:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi="figure", metadata={"Software": None})
    return from_bytes(buffer.getvalue())


def _from_pil(picture: Any) -> Image:
    buffer = io.BytesIO()
    if picture.mode not in ("1", "L", "LA", "I", "P", "RGB", "RGBA"):  # CMYK, F, …: no PNG
        picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
    picture.save(buffer, format="PNG")
    width, height = picture.size
    return Image(buffer.getvalue(), "image/png", int(width), int(height))


def _from_ipython_image(picture: Any) -> Image:
    data = getattr(picture, "data", None)
    if not isinstance(data, bytes | bytearray):
        url = getattr(picture, "url", None)
        where = f" ({safe_url(str(url))})" if url else ""
        raise UsageError(
            f"This IPython Image only links to its picture{where}, and nbstream does not "
            "fetch URLs; load it with Image(filename=…) or Image(data=…), or with "
            "Image(url=…, embed=True) to download it yourself."
        )
    return from_bytes(bytes(data))


def _repr_bytes(result: Any) -> bytes | None:
    """What ``_repr_png_`` / ``_repr_jpeg_`` returned: bytes, base64 text, or (data, meta)."""
    if isinstance(result, tuple) and result:
        result = result[0]
    if isinstance(result, bytes | bytearray):
        return bytes(result)
    if isinstance(result, str):
        import base64
        import binascii

        try:
            return base64.b64decode(result, validate=False)
        except (binascii.Error, ValueError):
            raise UsageError(
                "An output's image data is not valid base64; display it again or save it "
                "as a PNG file and send that."
            ) from None
    return None


def _sniff(data: bytes) -> str | None:
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _pixel_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG, GIF or JPEG header (the fixed fields the formats define)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith((b"GIF87a", b"GIF89a")) and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    # Walk the segments to the first start-of-frame marker (C0–CF but C4, C8, CC).
    position = 2
    while position + 9 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return int(width), int(height)
        position += 2 + length
    return None


def placeholder(image: Image) -> str:
    """An image where its bytes are not shown: ``[image: PNG, 1000×800 px, 61,234 bytes]``."""
    kind = image.mime.partition("/")[2].upper() or image.mime
    pixels = f", {image.width}×{image.height} px" if image.width and image.height else ""
    return f"[image: {kind}{pixels}, {len(image.data):,} bytes]"


def shown(message: Message) -> dict[str, Any]:
    """A message as ``--dry-run`` shows it: its images as placeholders, when it has any."""
    view: dict[str, Any] = message.as_dict()
    if message.images:
        view["images"] = [placeholder(image) for image in message.images]
    return view


def summary(image: Image) -> dict[str, Any]:
    """An image as recordings keep it: content hash, size, type and pixels, never bytes."""
    return {
        "sha256": image.sha256,
        "bytes": len(image.data),
        "mime": image.mime,
        "width": image.width,
        "height": image.height,
    }


def count(messages: Iterable[Message]) -> int:
    return sum(len(m.images) for m in messages)


def refuse(request: Request, why: str, instead: str) -> None:
    """Raise one sentence when ``request`` carries images that cannot be sent ``why``."""
    images = count(request.messages)
    if images:
        noun = "an image" if images == 1 else f"{images} images"
        raise UsageError(f"This prompt carries {noun}, but {why}; {instead}.")


def refuse_raw(request: Request) -> None:
    """``--raw`` sends plain text: a request with images gets one sentence instead."""
    if request.raw:
        refuse(
            request,
            "--raw completes plain text with no chat messages to carry it",
            "leave out --raw to send it as a chat message, or take the image out of the prompt",
        )


__all__ = [
    "count",
    "from_bytes",
    "placeholder",
    "refuse",
    "refuse_raw",
    "shown",
    "summary",
    "to_image",
]
