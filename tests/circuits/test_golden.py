"""Each generator's output equals its golden netlist in ``netlists/``, whole.

When a change to a generator is intended, rewrite the files with
``cosim netlist golden`` and review the diff before committing.
"""

from __future__ import annotations

import difflib
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from circuits.golden import GOLDEN, GOLDEN_DIR, GOLDEN_MODEL_DIR, golden_text
from circuits.runner import ngspice_executable
from cosim.cli import main

REPO_ROOT = GOLDEN_DIR.parent
GOLDEN_FILES = sorted(GOLDEN_DIR.glob("*.cir"))

REGENERATE = "if the change is intended, run 'cosim netlist golden' and review the diff"


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_generator_matches_golden_file(name: str) -> None:
    path = GOLDEN_DIR / f"{name}.cir"
    if not path.is_file():
        pytest.fail(f"golden file netlists/{name}.cir is missing; {REGENERATE}")
    expected = path.read_text()
    actual = golden_text(name)
    if actual != expected:
        diff = difflib.unified_diff(expected.splitlines(), actual.splitlines(),
                                    f"netlists/{name}.cir", f"generated {name}", lineterm="", n=2)
        shown = list(diff)[:60]
        pytest.fail(f"generator output differs from netlists/{name}.cir; {REGENERATE}\n"
                    + "\n".join(shown), pytrace=False)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_text_is_deterministic_and_portable(name: str) -> None:
    text = golden_text(name)
    assert text == golden_text(name)
    assert not re.search(r'\.include\s+"?/', text), "no absolute include paths"
    includes = re.findall(r'^\.include "([^"]+)"$', text, flags=re.MULTILINE)
    assert includes and all(i.startswith(GOLDEN_MODEL_DIR + "/") for i in includes)
    assert all((GOLDEN_DIR / i).is_file() for i in includes)
    assert "\n.op\n" in text and text.endswith(".end\n")


def test_every_golden_file_is_a_golden_entry() -> None:
    assert [p.stem for p in GOLDEN_FILES] == sorted(GOLDEN)


@pytest.mark.ngspice
@pytest.mark.parametrize("cwd", [REPO_ROOT, Path("/")], ids=["repo-root", "root"])
@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.name)
def test_golden_file_runs_in_ngspice_where_it_lies(path: Path, cwd: Path) -> None:
    """``ngspice -b netlists/X.cir`` (relative from the repository, absolute from /)."""
    target = path.relative_to(REPO_ROOT) if cwd == REPO_ROOT else path
    proc = subprocess.run([ngspice_executable(), "-b", str(target)], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False, stdin=subprocess.DEVNULL)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert "error" not in log.lower(), log[-3000:]
    assert "Node" in log or "node" in log.lower()            # .op printed its node voltages


@pytest.mark.ngspice
@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.name)
def test_golden_file_runs_in_cosim_simulate_from_elsewhere(
        path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``cosim simulate netlists/X.cir --op`` with the working folder outside the project."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["simulate", str(path), "--op", "-o", "run"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "removed the deck's own analysis line: .op" in result.stderr
    assert (tmp_path / "run" / "results.csv").is_file()
