"""Shared fixtures: tiny BART/T5 checkpoints and their exported bundles.

Bundles are built once into $QUALS_TEST_BUNDLES (default build/test-bundles) by an environment with the
export extra; the runtime-only environment (no torch) reuses them. Tests that need torch are marked
`torch` and skipped there.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import hypothesis  # noqa: F401  (see below)
import pytest

# hypothesis' pytest plugin imports hypothesis lazily, in the terminal summary. After a Ray session (tests/
# test_ray.py) that import dies in CPython 3.11's parser ("AST constructor recursion depth mismatch") and
# takes pytest's exit status with it; imported here, at start-up, it is already loaded then.

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

BUNDLE_ROOT = Path(os.environ.get("QUALS_TEST_BUNDLES", ROOT / "build" / "test-bundles"))
HAVE_TORCH = all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers", "optimum"))
FIXTURE_VERSION = "7"  # bump when tiny_models changes, so stale bundles are rebuilt

KINDS = {
    "bart": ("bart", "merged"),
    "bart-split": ("bart", "split"),
    "t5": ("t5", "merged"),
}


def pytest_collection_modifyitems(config, items):
    if HAVE_TORCH:
        return
    skip = pytest.mark.skip(reason="needs torch/transformers (export extra); covered by the full environment")
    for item in items:
        if "torch" in item.keywords:
            item.add_marker(skip)


def _checkpoint(family: str) -> Path:
    import tiny_models

    path = BUNDLE_ROOT / f"v{FIXTURE_VERSION}" / f"ckpt-{family}"
    if not (path / "config.json").is_file():
        (tiny_models.build_bart if family == "bart" else tiny_models.build_t5)(path)
    return path


def _bundle(kind: str) -> Path:
    family, decoder = KINDS[kind]
    path = BUNDLE_ROOT / f"v{FIXTURE_VERSION}" / f"bundle-{kind}"
    if (path / "quals.json").is_file():
        return path
    if not HAVE_TORCH:
        pytest.fail(f"test bundle {path} is missing and cannot be built without torch; run the full test suite first")
    from quals.export import export_bundle

    export_bundle(_checkpoint(family), path, decoder=decoder, overwrite=True)
    return path


@pytest.fixture(scope="session", params=list(KINDS))
def any_bundle(request) -> Path:
    return _bundle(request.param)


@pytest.fixture(scope="session")
def bart_bundle() -> Path:
    return _bundle("bart")


@pytest.fixture(scope="session")
def t5_bundle() -> Path:
    return _bundle("t5")


@pytest.fixture(scope="session")
def bundle_for():
    return _bundle


@pytest.fixture(scope="session")
def checkpoint_for():
    if not HAVE_TORCH:
        pytest.skip("needs torch")
    return _checkpoint
