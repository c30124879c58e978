"""An installed Heed has every part: each bot package is listed in pyproject.toml, and the
wheel a ``pip install`` builds holds the bot, the bundled sample (found without a checkout),
the licence and the console scripts."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


def test_every_bot_package_is_installed() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    packages = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "bot").rglob("__init__.py")
    }
    assert {"bot", "bot.handlers", "bot.retrain"} <= packages
    assert packages - listed == set()


PIP = (sys.executable, "-m", "pip")
SCRIPTS = {
    "heed-bot": "bot.__main__:main",
    "heed-train": "training.__main__:main",
    "heed-classify": "classifier.__main__:main",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout, offline (the venv's setuptools, no isolation)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "-q", str(REPO), "-w", str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = out.glob("heed-*.whl")
    return built


def test_the_wheel_holds_the_sample_every_bot_package_and_the_licence(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"training/sample/vader_amazon.csv", "training/sample/CITATION.md"} <= names
    for init in (REPO / "bot").rglob("__init__.py"):
        assert init.relative_to(REPO).as_posix() in names
    assert {"classifier/__main__.py", "training/__main__.py", "training/model_card.py"} <= names
    info = next(n for n in names if n.endswith(".dist-info/METADATA")).rsplit("/", 1)[0]
    assert f"{info}/licenses/LICENSE" in names
    metadata = zipfile.ZipFile(wheel).read(f"{info}/METADATA").decode()
    assert "License-Expression: MIT" in metadata.splitlines()
    entry_points = zipfile.ZipFile(wheel).read(f"{info}/entry_points.txt").decode()
    for script, target in SCRIPTS.items():
        assert f"{script} = {target}" in entry_points


def test_an_installed_wheel_finds_the_bundled_sample_without_a_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [*PIP, "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    probe = (
        "import training.pipeline as p, bot.app;"
        "print(p.DEFAULT_SAMPLE, p.DEFAULT_SAMPLE.is_file(), bot.app.__file__)"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    sample, exists, app = done.stdout.split()
    assert exists == "True" and Path(sample).is_relative_to(target), done.stdout
    assert Path(app).is_relative_to(target)


def test_console_scripts_point_at_the_entry_points() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["project"]["scripts"] == SCRIPTS
    for target in SCRIPTS.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function))


def test_licence_and_declared_dependencies() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    project = config["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (REPO / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert "setuptools>=77" in config["build-system"]["requires"]  # SPDX license needs 77
    dev = " ".join(project["optional-dependencies"]["dev"]).lower()
    assert "pyyaml" in dev and "pytest" in dev


def test_constraints_pin_every_dependency_and_the_makefile_uses_them() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    project = config["project"]
    lines = (REPO / "requirements" / "constraints.txt").read_text(encoding="utf-8").splitlines()
    pins = dict(line.split("==", 1) for line in lines if line and not line.startswith("#"))
    pinned = {name.lower().replace("_", "-") for name in pins}
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    for requirement in wanted:
        name = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pinned, requirement
    assert pins["torch"] == "2.13.0"  # the Makefile's pin, without a +cpu label
    assert "heed" not in pinned and not any("@" in v or "/" in v for v in pins.values())
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "CONSTRAINTS := requirements/constraints.txt" in makefile
    assert 'pip install --quiet -c $(CONSTRAINTS) -e ".[dev]"' in makefile
