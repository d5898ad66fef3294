import os
from types import SimpleNamespace

import pytest

from nbstream._exceptions import UsageError
from nbstream._specs import BACKENDS, Registry, looks_like_spec, parse_spec
from nbstream.backends import BACKEND_MODULES, get_backend


def test_backends() -> None:
    assert parse_spec("openai:gpt-4o-mini").spec == "openai:gpt-4o-mini"
    assert parse_spec("ollama:llama3.2:3b").model == "llama3.2:3b"
    spec = parse_spec("llama:~/m.gguf?n_ctx=4096&n_gpu_layers=-1&flash_attn=true&x=1.5&s=a")
    assert spec.backend == "llama"
    assert spec.model == os.path.expanduser("~/m.gguf")
    assert spec.load == {"n_ctx": 4096, "n_gpu_layers": -1, "flash_attn": True, "x": 1.5, "s": "a"}


def test_bare_gguf_path_is_llama() -> None:
    spec = parse_spec("models/tiny.gguf")
    assert spec.backend == "llama"
    assert spec.model == os.path.abspath("models/tiny.gguf")


def test_aliases_expand_with_options_outer_last() -> None:
    aliases = {"fast": "base -t 0", "base": "ollama:llama3.2 -n 10"}
    spec = parse_spec("fast", aliases)
    assert spec.spec == "ollama:llama3.2"
    assert spec.args == ("-n", "10", "-t", "0")


@pytest.mark.parametrize("bad", ["nope", "openai:", "http://x", "gpt4"])
def test_unknown_is_one_sentence(bad: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_spec(bad)
    message = str(info.value)
    assert message.endswith(".") and "\n" not in message


def test_alias_loop() -> None:
    with pytest.raises(UsageError, match="Alias loop"):
        parse_spec("a", {"a": "b", "b": "a"})


def test_looks_like_spec() -> None:
    assert looks_like_spec("ollama:x")
    assert looks_like_spec("x.gguf")
    assert looks_like_spec("fast", {"fast": "ollama:x"})
    assert not looks_like_spec("Explain:")
    assert not looks_like_spec("hello")


def test_default_order(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = Registry()
    monkeypatch.setenv("NBSTREAM_MODEL", "ollama:env")
    assert registry.default_spec() == "ollama:env"
    registry.config = SimpleNamespace(model="ollama:config", aliases={})  # LLMMagics
    assert registry.default_spec() == "ollama:config"
    registry.current = "ollama:used"
    assert registry.default_spec() == "ollama:used"


def test_no_default_names_the_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    import nbstream._specs as registry_module

    monkeypatch.delenv("NBSTREAM_MODEL", raising=False)
    monkeypatch.setattr(registry_module, "DEMO_PACKAGE", "nbstream_no_such_demo_package")
    with pytest.raises(UsageError) as info:
        Registry().default_spec()
    message = str(info.value)
    for way in ("%llm use", "LLMMagics.model", "NBSTREAM_MODEL", "nbstream[demo]"):
        assert way in message


def test_replay_without_the_demo_package_names_its_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import nbstream._specs as registry_module

    monkeypatch.delenv("NBSTREAM_MODEL", raising=False)
    monkeypatch.setattr(registry_module, "DEMO_PACKAGE", "nbstream_no_such_demo_package")
    monkeypatch.setenv("NBSTREAM_REPLAY", "recordings")
    assert Registry().default_spec() == f"llama:{registry_module.DEMO_FILE}"


def test_replay_neither_imports_nor_writes_the_demo_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import nbstream._specs as registry_module

    def demo_model_path() -> str:
        raise AssertionError("the demo package was used (its first use writes 253 MB)")

    monkeypatch.delenv("NBSTREAM_MODEL", raising=False)
    monkeypatch.setattr(registry_module, "demo_model_path", demo_model_path)
    monkeypatch.setenv("NBSTREAM_REPLAY", "recordings")
    assert Registry().default_spec() == f"llama:{registry_module.DEMO_FILE}"


def test_one_table_of_backends() -> None:
    # The spec prefixes are the table's names, and each name's module is that backend.
    assert tuple(BACKEND_MODULES) == BACKENDS
    for name in BACKENDS:
        assert get_backend(name).name == name
        assert parse_spec(f"{name}:x").backend == name
