"""Where a bundle comes from when none is named: $QUALS_MODEL, else the shipped default model.

The default model ships inside the wheel as package data (`quals.default_model`, models/default of the
repository), so `Scorer.load()` and `quals score` work from any folder after `pip install`, offline; an editable
install maps the same package onto models/default of the checkout.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from pathlib import Path

from .errors import NoModelError

ENV = "QUALS_MODEL"


def default_model() -> Path | None:
    """$QUALS_MODEL, else the shipped bundle (package data of the installed wheel, or models/default of a
    source checkout); None when neither is there."""
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    candidates: list[Path] = []
    with contextlib.suppress(ImportError, ValueError):
        spec = importlib.util.find_spec("quals.default_model")
        if spec is not None and spec.submodule_search_locations:
            candidates += [Path(p) for p in spec.submodule_search_locations]
    # a source checkout used without installing it: models/default beside runtime/
    candidates += [parent / "models" / "default" for parent in Path(__file__).resolve().parents[1:3]]
    return next((c for c in candidates if (c / "quals.json").is_file()), None)


def resolve_model(path: str | Path | None = None) -> Path:
    """`path` if given, else default_model(); NoModelError when there is none."""
    if path is not None and str(path):
        return Path(path)
    found = default_model()
    if found is None:
        raise NoModelError(f"no bundle given, ${ENV} is not set and no default bundle is installed "
                           "(reinstall quals: the wheel ships models/default)")
    return found
