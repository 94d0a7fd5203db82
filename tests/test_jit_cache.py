"""The kernels' disk cache is stamped with the sources of every module that defines kernels."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from numba.core import caching

from mcsim.core import jit


def test_locators_for_the_package_come_first() -> None:
    names = [locator.__name__ for locator in caching.CacheImpl._locator_classes]
    assert names[0].startswith("PackageStamped")


def test_stamp_follows_any_kernel_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "mcsim"
    for folder in jit.KERNEL_PACKAGES:
        shutil.copytree(jit.PACKAGE / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(jit, "PACKAGE", copy)
    jit.package_stamp.cache_clear()
    try:
        before = jit.package_stamp()
        helper = copy / "core" / "withdrawal.py"
        helper.write_text(helper.read_text() + "\n# edited\n")
        jit.package_stamp.cache_clear()
        assert jit.package_stamp() != before
        plain = copy / "core" / "errors.py"  # no kernels: not part of the stamp
        edited = jit.package_stamp()
        plain.write_text(plain.read_text() + "\n# edited\n")
        jit.package_stamp.cache_clear()
        assert jit.package_stamp() == edited
    finally:
        jit.package_stamp.cache_clear()
