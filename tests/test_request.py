"""One way from what the user wrote to a Request, whichever entry point names the model.

The unit tests check the layering — an alias's option words, then what is given
explicitly — and the end-to-end tests send real requests from ``generate()`` and
``stream()`` to two recording servers: the alias's ``--base-url`` must get the request
and ``$OPENAI_BASE_URL`` (standing in for api.openai.com) must get nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

import nbstream
from nbstream._exceptions import UsageError
from nbstream._request import (
    CELL_ONLY,
    KEYWORDS,
    PARSER,
    Settings,
    metadata_params,
    parse_options,
    resolve,
    split_keywords,
)
from nbstream._specs import Registry
from nbstream._types import Image
from nbstream._values import DEFAULT_MAX_VALUE_CHARS

from .servers.scripted import Script, ScriptedServer, chat_delta, sse


def answer(text: str) -> Script:
    return Script(body=sse(chat_delta(text), chat_delta(finish="stop")))


@pytest.fixture
def local() -> Iterator[ScriptedServer]:
    """The server an alias points at."""
    with ScriptedServer(answer("from the alias's server")) as server:
        yield server


@pytest.fixture
def default(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedServer]:
    """The server ``$OPENAI_BASE_URL`` points at: where a dropped --base-url would go."""
    with ScriptedServer(answer("from the default server")) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
        yield server


# -- the layering ----------------------------------------------------------------------


def test_an_alias_gives_its_options_parsed_like_a_cells(registry: Registry) -> None:
    registry.aliases["local"] = (
        "openai:m --base-url http://127.0.0.1:8080/v1 -t 0 -s 'Be terse.' -n 7 --stop END --raw"
    )
    settings = resolve("local")
    assert settings.spec.spec == "openai:m"
    assert settings.base_url == "http://127.0.0.1:8080/v1"
    assert (settings.temperature, settings.max_tokens, settings.stop) == (0.0, 7, ("END",))
    assert settings.system == "Be terse." and settings.raw is True
    request = settings.request("Hi", history=[{"role": "user", "content": "Before"}])
    assert request.endpoint.base_url == "http://127.0.0.1:8080/v1"
    assert [m.role for m in request.messages] == ["system", "user", "user"]
    cell, _ = parse_options(["-t", "0", "--base-url", "http://127.0.0.1:8080/v1"], {})
    assert cell == {"temperature": 0.0, "base_url": "http://127.0.0.1:8080/v1"}


def test_given_options_override_the_alias_option_by_option(registry: Registry) -> None:
    registry.aliases["local"] = "openai:m --base-url http://a/v1 -t 0 -s Terse. --stop A --stop B"
    given, backend_options = split_keywords(
        {"temperature": 0.9, "stop": "C", "system": None, "top_k": 5}
    )
    assert backend_options == {"top_k": 5}
    settings = resolve("local", given, options=backend_options)
    assert settings.temperature == 0.9
    assert settings.stop == ("C",)  # replaced, not added to
    assert settings.system == "Terse."  # None is "not given"
    assert settings.base_url == "http://a/v1"
    assert settings.options == {"top_k": 5}
    cell, _ = parse_options(["--base-url", "http://b/v1"], registry.all_aliases())
    assert resolve("local", cell).base_url == "http://b/v1"


def test_nested_aliases_outer_options_win(registry: Registry) -> None:
    registry.aliases.update(base="openai:m -t 0 -n 5", fast="base -t 1")
    settings = resolve("fast")
    assert (settings.temperature, settings.max_tokens) == (1.0, 5)


def test_the_default_model_keeps_its_alias_options(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBSTREAM_MODEL", "openai:from-env")
    registry.aliases["local"] = "openai:m --base-url http://a/v1"
    registry.current = "local"  # %llm use local
    assert resolve(None).base_url == "http://a/v1"


def test_the_magics_config_is_read_by_the_registry(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NBSTREAM_MODEL", raising=False)
    config = SimpleNamespace(
        model="cfg", aliases={"cfg": "openai:c --base-url http://c/v1"}, stream_options=True
    )
    registry.config = config
    assert resolve(None).base_url == "http://c/v1"
    config.aliases["cfg"] = "openai:c --base-url http://d/v1"  # read afresh, not copied
    assert resolve("cfg").base_url == "http://d/v1"
    registry.aliases["cfg"] = "openai:e"  # %llm alias wins a name over the config
    assert resolve("cfg").spec.spec == "openai:e"


def test_max_value_chars_is_read_live_from_the_magics_config(registry: Registry) -> None:
    assert registry.max_value_chars() == DEFAULT_MAX_VALUE_CHARS
    config = SimpleNamespace(model="", aliases={}, stream_options=True, max_value_chars=900)
    registry.config = config
    assert registry.max_value_chars() == 900
    config.max_value_chars = 1200
    assert registry.max_value_chars() == 1200


def test_images_go_on_the_users_message_only() -> None:
    picture = Image(b"png", "image/png", 4, 3)
    request = resolve("openai:m", {"system": "Be brief."}).request(
        "What is this? [image 1]", history=[{"role": "user", "content": "Hi"}], images=[picture]
    )
    assert [m.images for m in request.messages] == [(), (), (picture,)]
    assert request.messages[-1].content == "What is this? [image 1]"


def test_bad_alias_options_and_keywords_are_one_sentence(registry: Registry) -> None:
    registry.aliases.update(two="openai:m openai:n", hot="openai:m -t hot")
    with pytest.raises(UsageError, match="second one"):
        resolve("two")
    with pytest.raises(UsageError, match="hot"):
        resolve("hot")
    with pytest.raises(UsageError, match="Unknown format 'html'"):
        resolve("openai:m", {"format": "html"})


def test_every_option_and_keyword_is_a_setting() -> None:
    fields = {f.name for f in dataclasses.fields(Settings)}
    dests = {action.dest for action in PARSER._actions}
    assert dests - {"spec", "model"} <= fields
    assert set(KEYWORDS) == dests - CELL_ONLY
    assert "max_tokens" in KEYWORDS and "base_url" in KEYWORDS and "out" not in KEYWORDS


def test_metadata_params_come_from_the_request_and_leave_the_endpoint_out() -> None:
    settings = resolve(
        "openai:m", {"temperature": 0.5, "stop": ["x"], "base_url": "http://u:p@h/v1"}
    )
    assert metadata_params(settings.request("Hi"), chat="work") == {
        "temperature": 0.5,
        "stop": ["x"],
        "chat": "work",
    }
    assert metadata_params(resolve("openai:m").request("Hi")) == {}


# -- generate() and stream() against real sockets ----------------------------------------


def sent_to(server: ScriptedServer) -> list[dict[str, Any]]:
    return [r.json() for r in server.requests]


def test_generate_and_stream_send_an_alias_to_its_own_server(
    registry: Registry,
    local: ScriptedServer,
    default: ScriptedServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    registry.aliases["local"] = f"openai:local-model --base-url {local.url}/v1 -t 0.25 -s Terse."
    response = nbstream.generate("One", model="local")
    assert response.text == "from the alias's server"
    chunks = [c.text for c in nbstream.stream("Two", model="local")]
    assert "".join(chunks) == "from the alias's server"
    registry.current = "local"
    nbstream.generate("Three")
    assert default.requests == []
    bodies = sent_to(local)
    assert [b["messages"][-1]["content"] for b in bodies] == ["One", "Two", "Three"]
    for body in bodies:
        assert body["model"] == "local-model" and body["temperature"] == 0.25
        assert body["messages"][0] == {"role": "system", "content": "Terse."}
    assert "from the alias's server" in capsys.readouterr().out


def test_keyword_arguments_override_the_alias(
    registry: Registry, local: ScriptedServer, default: ScriptedServer
) -> None:
    registry.aliases["local"] = f"openai:local-model --base-url {local.url}/v1 -t 0.25 -s Terse."
    list(nbstream.stream("Hi", model="local", temperature=0.9, system="Verbose."))
    body = local.last.json()
    assert body["temperature"] == 0.9
    assert body["messages"][0]["content"] == "Verbose."
    list(nbstream.stream("Hi", model="local", base_url=default.url + "/v1"))
    assert len(default.requests) == 1 and default.last.json()["temperature"] == 0.25


def test_configured_aliases_reach_the_python_api(
    registry: Registry, local: ScriptedServer, default: ScriptedServer
) -> None:
    registry.config = SimpleNamespace(
        model="",
        aliases={"cfg": f"openai:cfg-model --base-url {local.url}/v1 -n 7"},
        stream_options=True,
    )
    list(nbstream.stream("Hi", model="cfg"))
    assert default.requests == []
    assert local.last.json()["max_tokens"] == 7


def test_configured_stream_options_reach_the_python_api(
    registry: Registry, local: ScriptedServer, default: ScriptedServer
) -> None:
    """%config LLMMagics.stream_options = False applies to stream()/generate() too."""
    registry.config = SimpleNamespace(model="", aliases={}, stream_options=True)
    list(nbstream.stream("Hi", model="openai:m", base_url=f"{local.url}/v1"))
    assert "stream_options" in local.last.json()
    registry.config = SimpleNamespace(model="", aliases={}, stream_options=False)
    list(nbstream.stream("Hi", model="openai:m", base_url=f"{local.url}/v1"))
    assert "stream_options" not in local.last.json()
    list(nbstream.stream("Hi", model="openai:m", base_url=f"{local.url}/v1", stream_options=True))
    assert "stream_options" in local.last.json()
