import types

import nbstream


def test_all_is_exactly_the_public_names() -> None:
    public = {name for name in dir(nbstream) if not name.startswith("_")}
    public -= {"annotations", "Any", "TYPE_CHECKING"}
    # Subpackages imported by the package are namespaces, not API.
    public -= {n for n in public if isinstance(getattr(nbstream, n), types.ModuleType)}
    assert public == set(nbstream.__all__) - {"__version__"}
    for name in nbstream.__all__:
        assert getattr(nbstream, name) is not None
