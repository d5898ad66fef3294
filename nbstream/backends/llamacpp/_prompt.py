"""The text a llama.cpp model is asked to continue, built from a request's messages.

A model that ships a chat template (``tokenizer.chat_template`` in its GGUF metadata)
gets its messages rendered by that template, exactly as llama-cpp-python's
``Jinja2ChatFormatter`` does (same sandboxed Jinja environment, ``bos_token``,
``eos_token``, ``add_generation_prompt``), and the result is tokenized with special
tokens parsed, since the template writes them as text.

A base model has no template and was never trained on any chat format, so nbstream
does not invent one for the common case: a single question (with an optional system
text) is sent as the plain text it is, which is what a base model like the demo Gemma
270M continues best. Only a real multi-turn conversation gets a minimal transcript
(``User:`` / ``Assistant:``), with ``"\\nUser:"`` as a stop string so the model does not
write the user's next turn. ``raw=True`` completes ``request.prompt`` untouched.

User text is never parsed for special tokens except through a template, so a prompt
that happens to contain ``</s>`` is just text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..._exceptions import UsageError
from ..._types import Message, Request

TRANSCRIPT_STOP = "\nUser:"


@dataclass(frozen=True)
class Prompt:
    """What to tokenize, how, and which stop strings the format itself needs."""

    text: str
    format: str  # "chat template", "plain", "transcript" or "raw"
    special: bool = False
    add_bos: bool = True
    stop: tuple[str, ...] = ()


def build_prompt(
    request: Request,
    *,
    chat_template: str | None,
    bos_token: str = "",
    eos_token: str = "",
    formatter_class: Any = None,
) -> Prompt:
    """The prompt for ``request``; ``formatter_class`` is llama-cpp-python's Jinja formatter."""
    messages = request.messages or (Message("user", request.prompt),)
    if request.raw:
        text = request.prompt or "\n\n".join(m.content for m in request.messages)
        return Prompt(text=text, format="raw")
    if chat_template and formatter_class is not None:
        return _from_template(messages, chat_template, bos_token, eos_token, formatter_class)
    if not any(m.role == "assistant" for m in messages) and _user_turns(messages) <= 1:
        return Prompt(text="\n\n".join(m.content for m in messages if m.content), format="plain")
    return Prompt(text=_transcript(messages), format="transcript", stop=(TRANSCRIPT_STOP,))


def _user_turns(messages: tuple[Message, ...]) -> int:
    return sum(1 for m in messages if m.role == "user")


def _transcript(messages: tuple[Message, ...]) -> str:
    parts: list[str] = []
    for message in messages:
        if message.role == "system":
            parts.append(f"{message.content}\n\n")
        else:
            speaker = "User" if message.role == "user" else "Assistant"
            parts.append(f"{speaker}: {message.content}\n")
    parts.append("Assistant:")
    return "".join(parts)


def _from_template(
    messages: tuple[Message, ...],
    template: str,
    bos_token: str,
    eos_token: str,
    formatter_class: Any,
) -> Prompt:
    try:
        formatter = formatter_class(
            template=template,
            eos_token=eos_token,
            bos_token=bos_token,
            add_generation_prompt=True,
        )
        rendered = formatter(messages=[m.as_dict() for m in messages])
    except Exception as exc:  # jinja2 errors, or the template's own raise_exception()
        reason = str(exc).strip().rstrip(".") or type(exc).__name__
        raise UsageError(
            f"The model's chat template could not format these messages ({reason}); "
            "change the messages or use --raw to send the prompt as plain text."
        ) from exc
    text = str(rendered.prompt)
    # The template usually writes the BOS token itself; add one only if it did not.
    starts_with_bos = bool(bos_token) and text.startswith(bos_token)
    return Prompt(text=text, format="chat template", special=True, add_bos=not starts_with_bos)
