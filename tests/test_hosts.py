"""The Java and C# hosts replay the conformance vectors of the default bundle and the tiny test bundles.

Each host's `run-tests.sh` builds it from source into build/hosts/, checks every vector file given (ids and
hypotheses exact, log-probs and QUALS within 1e-4) and runs its memory check (1,000-2,000 records in one process).
Exit status 77 means the host's toolchain is missing: a skip on a developer machine, a failure in CI
(QUALS_REQUIRE_HOSTS=1, set by .ci/run).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import onnxruntime
import pytest
from conftest import KINDS, ROOT, _bundle
from quals.models import default_model
from quals.scorer import Scorer
from quals.tasks.conformance import vectors

HOSTS = ("java", "csharp", "js")
SKIPPED = 77


@pytest.fixture(scope="module")
def vector_files(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """name -> (vectors.json, bundle directory) for the tiny bundles and, when shipped, the default bundle."""
    import json

    out = tmp_path_factory.mktemp("conformance")
    bundles = {kind: _bundle(kind) for kind in KINDS}
    if default_model() is not None:
        bundles["default"] = default_model()
    files = {}
    for name, path in bundles.items():
        doc = vectors(Scorer.load(path, threads=1), name=name, bundle_path=str(path))
        target = out / name / "vectors.json"
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        files[name] = (target, path)
    return files


def ort_library() -> Path:
    capi = Path(onnxruntime.__file__).parent / "capi"
    libs = sorted(capi.glob("libonnxruntime.so*"))
    if not libs:
        pytest.fail(f"no libonnxruntime.so in {capi}")
    return libs[0]


@pytest.mark.parametrize("host", HOSTS)
def test_host_passes_conformance_vectors(host, vector_files):
    script = ROOT / "hosts" / host / "run-tests.sh"
    cmd = ["bash", str(script)]
    for name, (_, bundle) in vector_files.items():
        cmd += ["--bundle", f"{name}={bundle}"]
    cmd += [str(v) for v, _ in vector_files.values()]
    env = {**os.environ, "QUALS_ONNXRUNTIME_LIB": str(ort_library())}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    output = proc.stdout[-6000:] + proc.stderr[-6000:]
    if proc.returncode == SKIPPED:
        if os.environ.get("QUALS_REQUIRE_HOSTS"):
            pytest.fail(f"{host} toolchain missing in CI:\n{output}")
        pytest.skip(f"{host} toolchain missing: {output.strip().splitlines()[-1] if output.strip() else ''}")
    assert proc.returncode == 0, output
