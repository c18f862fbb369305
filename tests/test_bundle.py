"""Loading bundles: a missing, incomplete, tampered or foreign bundle is refused, naming the file."""

from __future__ import annotations

import json
import shutil

import pytest
from quals import BundleError, load_bundle


@pytest.fixture()
def copy(tmp_path, bart_bundle):
    dst = tmp_path / "bundle"
    shutil.copytree(bart_bundle, dst)
    return dst


def test_good_bundle_loads_and_lists_every_file(copy):
    b = load_bundle(copy)
    listed = set(b.manifest.sha256)
    assert listed == {p.name for p in copy.iterdir()} - {"quals.json"}
    assert b.manifest.separator.id in range(b.manifest.onnx.vocab_size)


def test_missing_directory(tmp_path):
    with pytest.raises(BundleError, match="not found"):
        load_bundle(tmp_path / "nope")


def test_missing_manifest(copy):
    (copy / "quals.json").unlink()
    with pytest.raises(BundleError, match="quals.json: missing manifest"):
        load_bundle(copy)


def test_missing_file_is_named(copy):
    (copy / "encoder_model.onnx").unlink()
    with pytest.raises(BundleError, match="encoder_model.onnx: file missing"):
        load_bundle(copy)


def test_tampered_file_is_named(copy):
    with open(copy / "tokenizer.json", "a") as f:
        f.write(" ")
    with pytest.raises(BundleError, match="tokenizer.json: sha256 mismatch"):
        load_bundle(copy)
    load_bundle(copy, verify=False)  # the check can be skipped on purpose


def test_corrupt_manifest_and_unknown_version(copy):
    path = copy / "quals.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "format_version": 99}))
    with pytest.raises(BundleError, match="format_version 99 is not supported"):
        load_bundle(copy)
    path.write_text("{not json")
    with pytest.raises(BundleError, match="corrupt manifest"):
        load_bundle(copy)
