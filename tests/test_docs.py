"""Docs that must stay true: every registered kernel is listed in docs/engine.md."""

import re
from pathlib import Path

import pytest

from kcsolver.kernels import BACKENDS, get_kernels

ENGINE_DOC = (Path(__file__).resolve().parents[1] / "docs" / "engine.md").read_text()


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_kernel_is_documented(backend):
    documented = set(re.findall(r"`([a-z_0-9]+)`", ENGINE_DOC))
    missing = sorted(set(get_kernels(backend)) - documented)
    assert not missing, f"add these ops to the table in docs/engine.md: {missing}"
