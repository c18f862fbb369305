"""A user's path: build the wheel, install it into a fresh venv, score from another folder, offline.

The default model is package data of the wheel; nothing may depend on the checkout or the working
directory. Runs once per `make test` (in the runtime-only suite), since it installs the runtime's
dependencies into a new venv (from the package registry, or pip's cache)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.wheel,
    pytest.mark.skipif(not (ROOT / "models" / "default" / "quals.json").is_file(), reason="no models/default here"),
]


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{cmd}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def test_wheel_ships_the_default_model_and_scores_from_any_folder(tmp_path):
    dist = tmp_path / "dist"
    # As a user builds it: pip in an isolated build environment (setuptools from the registry).
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)], cwd=tmp_path)
    (wheel,) = dist.glob("quals-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "-q", str(wheel)])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("QUALS_MODEL", "PYTHONPATH")}
    quals = env_dir / "bin" / "quals"
    src = "Anna Smith built a bridge in Paris in 1990. It cost four million francs."
    r = _run([str(quals), "score", "--source-text", src, "--summary-text", "Anna Smith built a bridge in Paris.",
              "--signature"], cwd=elsewhere, env=env)
    rec = json.loads(r.stdout)
    assert rec["status"] == "ok" and rec["n_pairs"] >= 1
    # The same model as the checkout's: the same bundle id, and the installed copy is outside the checkout.
    from quals import Scorer

    assert Scorer.load(ROOT / "models" / "default").signature().split("|")[1] in r.stderr
    where = _run([str(py), "-c", "from quals.models import default_model; print(default_model())"], cwd=elsewhere,
                 env=env).stdout.strip()
    assert Path(where).is_relative_to(env_dir) and not Path(where).is_relative_to(ROOT)
    # The README's Python example, from any folder: Scorer.load() with no path is the shipped model.
    api = _run([str(py), "-c", "from quals import Scorer; s = Scorer.load(); r = s.score_one("
                f"{src!r}, 'Anna Smith built a bridge in Paris.'); print(s.signature(), r.quals, r.status)"],
               cwd=elsewhere, env=env).stdout.split()
    assert api[0] in r.stderr and api[2] == "ok" and abs(float(api[1]) - rec["quals"]) < 1e-9
    no_torch = subprocess.run([str(py), "-c", "import torch"], cwd=elsewhere, env=env, capture_output=True)
    assert no_torch.returncode != 0  # the runtime's install pulls no PyTorch
    # The service: without the extra, the command names it; with it, the README's call answers what score wrote.
    r = subprocess.run([str(quals), "serve"], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert r.returncode == 2 and "pip install 'quals[serve]'" in r.stderr
    import zipfile

    assert {"quals/serve/openapi.json", "quals/common_words.txt"} <= set(zipfile.ZipFile(wheel).namelist())
    _run([str(py), "-m", "pip", "install", "-q", f"{wheel}[serve]"])
    sys.path.insert(0, str(ROOT / "scripts"))
    import serve_load

    port = serve_load.free_port()
    proc = subprocess.Popen([str(quals), "serve", "--port", str(port), "--no-access-log"], cwd=elsewhere, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        import httpx

        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        body = {"records": [{"source": src, "summary": "Anna Smith built a bridge in Paris."}]}
        got = httpx.post(url + "/v1/score", json=body, timeout=120).json()
        assert got["results"][0] == {**body["records"][0], **rec}
    finally:
        proc.terminate()
        assert proc.wait(60) == 0, proc.stdout.read().decode()
