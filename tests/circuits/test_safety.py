"""User decks are data: read with ngspice's line rules, allowlisted, and handed on as checked.

Every attack deck below is refused by the real check (through ``cosim simulate``),
and no marker file appears. A few are also run raw through real ngspice, which
does create the marker: the attacks are real, so refusing them means something.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import pytest
from click.testing import CliRunner, Result

from circuits.errors import NetlistError
from circuits.safety import (
    DOT_COMMANDS,
    MAX_DECK_BYTES,
    MAX_INCLUDE_DEPTH,
    MODEL_ROOT,
    CheckedFile,
    UserDeck,
    check_user_deck,
    copy_includes,
    include_targets,
    load_user_deck,
    read_text_file,
)
from cosim.cli import main
from cosim.commands.simulate import ANALYSIS_WORDS
from tests import PROJECT_ROOT

PROJECT = PROJECT_ROOT
DECK = "* title\nV1 in 0 1\nR1 in 0 1k\n"


def _write(folder: Path, rel: str, text: str | bytes) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def _refused(text: str, match: str, **kw) -> NetlistError:
    with pytest.raises(NetlistError, match=match) as info:
        check_user_deck(text, source="deck.cir", **kw)
    assert "\n" not in str(info.value)
    return info.value


def _simulate(deck: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["simulate", str(deck), *map(str, args)])


def _one_line_error(result: Result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# --- attack decks: each would run `shell touch MARKER` (or read a file outside) --------------

def _control(marker: Path) -> str:
    return f".control\nshell touch {marker}\n.endc\n"


def _evil(tmp: Path, marker: Path) -> Path:
    """A file outside the deck's folder holding a control block."""
    return _write(tmp, "outside/evil.lib", _control(marker))


def _evil_section(tmp: Path, marker: Path) -> Path:
    return _write(tmp, "outside/evil_sec.lib", ".lib sec\n" + _control(marker) + ".endl sec\n")


def _deck(tmp: Path, text: str, files: dict[str, str | bytes] | None = None) -> Path:
    """Write ``d/deck1.cir`` and ``files`` (paths relative to ``d``) under ``tmp``."""
    for rel, body in (files or {}).items():
        _write(tmp / "d", rel, body)
    return _write(tmp / "d", "deck1.cir", text)


Attack = Callable[[Path, Path], Path]
ATTACKS: dict[str, tuple[Attack, str | None]] = {}


def attack(name: str, match: str | None) -> Callable[[Attack], Attack]:
    """Register a deck builder ``(tmp_path, marker) -> deck`` and the refusal it must get."""
    def register(build: Attack) -> Attack:
        ATTACKS[name] = (build, match)
        return build
    return register


@attack("inc-dash", r"deck1\.cir:4: '\.inc-x' refused: ngspice reads any command starting")
def _inc_dash(t: Path, m: Path) -> Path:
    return _deck(t, DECK + f".inc-x {_evil(t, m)}\n.end\n")


@attack("inc-dot", r"'\.inc\.x' refused")
def _inc_dot(t: Path, m: Path) -> Path:
    return _deck(t, DECK + f".inc.x {_evil(t, m)}\n")


@attack("library", r"'\.library' refused")
def _library(t: Path, m: Path) -> Path:
    return _deck(t, DECK + f".library {_evil_section(t, m)} sec\n")


@attack("lib-underscore", r"'\.lib_x' refused")
def _lib_underscore(t: Path, m: Path) -> Path:
    return _deck(t, DECK + f".lib_x {_evil_section(t, m)} sec\n")


@attack("absolute-include", r"deck1\.cir:4: include of absolute path refused")
def _absolute_include(t: Path, m: Path) -> Path:
    return _deck(t, DECK + f'.include "{_evil(t, m)}"\n')


@attack("absolute-lib", r"include of absolute path refused")
def _absolute_lib(t: Path, m: Path) -> Path:
    return _deck(t, DECK + f".lib {_evil_section(t, m)} sec\n")


@attack("dotdot-include", r"include of '\.\./outside/evil\.lib' refused: it lies outside")
def _dotdot_include(t: Path, m: Path) -> Path:
    _evil(t, m)
    return _deck(t, DECK + ".include ../outside/evil.lib\n")


@attack("nested-include", r"^models/ok\.lib:2: '\.inc-x' refused")
def _nested_include(t: Path, m: Path) -> Path:
    return _deck(t, DECK + '.include "models/ok.lib"\n',
                 {"models/ok.lib": f"R2 in 0 1k\n.inc-x {_evil(t, m)}\n"})


@attack("nested-dotdot", r"^m\.lib:1: include of '\.\./outside/evil\.lib' refused")
def _nested_dotdot(t: Path, m: Path) -> Path:
    _evil(t, m)
    return _deck(t, DECK + '.include "m.lib"\n', {"m.lib": ".include ../outside/evil.lib\n"})


@attack("cr-in-included-control", r"^m\.lib:2: '\.control' block refused")
def _cr_in_included_control(t: Path, m: Path) -> Path:
    body = f"R2 in 0 1k\n.con\rtrol\nsh\rell touch {m}\n.endc\n".encode()
    return _deck(t, DECK + '.include "m.lib"\n', {"m.lib": body})


@attack("cr-in-include-word", r"^m\.lib:1: '\.inc-x' refused")
def _cr_in_include_word(t: Path, m: Path) -> Path:
    return _deck(t, DECK + '.include "m.lib"\n', {"m.lib": f".in\rc-x {_evil(t, m)}\n".encode()})


@attack("continuation-dot-command", r"deck1\.cir:4: dot-command '\.con' is not accepted")
def _continuation_dot_command(t: Path, m: Path) -> Path:
    return _deck(t, DECK + f".con\n+trol\nshell touch {m}\n.endc\n")


@attack("continuation-include-path", r"deck1\.cir:4: include of absolute path refused")
def _continuation_include_path(t: Path, m: Path) -> Path:
    return _deck(t, DECK + f".include\n* c\n+ {_evil(t, m)}\n")


@attack("continuation-without-line", r"deck1\.cir:2: continuation line")
def _continuation_without_line(t: Path, m: Path) -> Path:
    return _deck(t, f"t\n+ {_control(m)}")


@attack("uppercase-control", r"'\.CONTROL' block refused")
def _uppercase_control(t: Path, m: Path) -> Path:
    return _deck(t, DECK + f".CONTROL\nSHELL touch {m}\n.ENDC\n")


@attack("indented-control-prefix", r"'\.Controlx' block refused")
def _indented_control_prefix(t: Path, m: Path) -> Path:
    return _deck(t, DECK + f"   .Controlx\nshell touch {m}\n.endc\n")


@attack("uppercase-include", r"'\.INC-X' refused")
def _uppercase_include(t: Path, m: Path) -> Path:
    return _deck(t, DECK + f".INC-X {_evil(t, m)}\n")


@attack("control-after-end", r"deck1\.cir:5: '\.control' block refused")
def _control_after_end(t: Path, m: Path) -> Path:
    return _deck(t, DECK + ".end\n" + _control(m))


@attack("include-in-title", None)  # accepted: the title is handed on as a comment
def _include_in_title(t: Path, m: Path) -> Path:
    return _deck(t, f".inc {_evil(t, m)}\n" + DECK)


@attack("star-hash", r"deck1\.cir:4: a '\*#' line is run by ngspice")
def _star_hash(t: Path, m: Path) -> Path:
    return _deck(t, DECK + f"  *#shell touch {m}\n")


@attack("ng-script", r"deck1\.cir:1: '\*ng_script' makes ngspice run the file")
def _ng_script(t: Path, m: Path) -> Path:
    return _deck(t, f"*ng_script\nshell touch {m}\n")


@attack("ng-script-included", r"^m\.lib:1: '\*ng_script'")
def _ng_script_included(t: Path, m: Path) -> Path:
    return _deck(t, DECK + ".include m.lib\n", {"m.lib": f"*NG_SCRIPT\nshell touch {m}\n"})


@attack("unknown-dot-command", r"deck1\.cir:4: dot-command '\.exec' is not accepted")
def _unknown_dot_command(t: Path, m: Path) -> Path:
    return _deck(t, DECK + ".exec ls\n.csparam a=1\n")


@attack("interpreter-word", r"interpreter command 'shell' refused")
def _interpreter_word(t: Path, m: Path) -> Path:
    return _deck(t, DECK + f"shell touch {m}\n")


@attack("backslash-join", r"deck1\.cir:4: a line ending in a backslash")
def _backslash_join(t: Path, m: Path) -> Path:
    return _deck(t, DECK + ".con\\\\\ntrol\n")


@attack("filesource-absolute", r"deck1\.cir:5: file='.*secret\.txt' refused: an XSPICE data")
def _filesource_absolute(t: Path, m: Path) -> Path:
    secret = _write(t, "outside/secret.txt", "0 1")
    return _deck(t, DECK + f'A1 %vd([a 0]) src\n.model src filesource (file="{secret}")\n')


@attack("filesource-dotdot-no-equals", r"file='\.\./outside/secret\.txt' refused")
def _filesource_dotdot(t: Path, m: Path) -> Path:
    _write(t, "outside/secret.txt", "0 1")
    return _deck(t, DECK + 'A1 %vd([a 0]) src\n'
                 '.model src filesource (file "../outside/secret.txt")\n')


@attack("d-source-param", r"input_file='{path}' refused")
def _d_source_param(t: Path, m: Path) -> Path:
    return _deck(t, DECK + "A1 [a] src\n.model src d_source (input_file={path})\n")


@attack("symlink-escape", r"include of 'link\.lib' refused: it lies outside the deck's folder")
def _symlink_escape(t: Path, m: Path) -> Path:
    deck = _deck(t, DECK + ".include link.lib\n")
    (t / "d" / "link.lib").symlink_to(_evil(t, m))
    return deck


@attack("include-spiceinit", r"'\.spiceinit' refused: that name is reserved")
def _include_spiceinit(t: Path, m: Path) -> Path:
    _write(t, "d/.spiceinit", f"shell touch {m}\n")
    return _deck(t, DECK + ".include .spiceinit\n")


@attack("include-cycle", r"^b\.lib:1: include cycle")
def _include_cycle(t: Path, m: Path) -> Path:
    return _deck(t, DECK + ".include a.lib\n",
                 {"a.lib": "R2 in 0 1k\n.include b.lib\n", "b.lib": ".include a.lib\n"})


@attack("control-character", r"control character 0x0b")
def _control_character(t: Path, m: Path) -> Path:
    return _deck(t, DECK + ".con\x0btrol\n")


# --- the checked-copy step: no copied file may land on another ------------------------------
# ``cosim simulate`` writes checked copies of the included files into the run folder and copies
# XSPICE data files as they are. A data file whose path equals an include's place in the run
# folder (``device_models/<project model>`` beside the deck, named by any ``...file=``
# parameter: no ``A`` instance is needed) would overwrite the checked copy, and ngspice would
# include the unchecked file. Every variant below is refused before anything is written.

PROJECT_MODEL = MODEL_ROOT / "opamp.lib"


def _shadow(t: Path, m: Path, model_line: str, *, absolute: bool = False,
            rel: str = "device_models/opamp.lib") -> Path:
    """A deck including a project model, and a hostile file at that model's run-folder place."""
    _write(t / "d", rel, _control(m))
    target = PROJECT_MODEL if absolute else os.path.relpath(PROJECT_MODEL, t / "d")
    return _deck(t, DECK + f'.include "{target}"\n' + model_line)


SHADOWED = r"data file '(?i:device_models)/opamp\.lib' refused: it would be written under"


@attack("shadow-filesource-relative-include", SHADOWED)
def _shadow_filesource(t: Path, m: Path) -> Path:
    return _shadow(t, m, ".model fs filesource(file=device_models/opamp.lib)\n")


@attack("shadow-filesource-absolute-include", SHADOWED)
def _shadow_filesource_abs(t: Path, m: Path) -> Path:
    return _shadow(t, m, '.model fs filesource (file="device_models/opamp.lib")\n',
                   absolute=True)


@attack("shadow-d-source", SHADOWED)
def _shadow_d_source(t: Path, m: Path) -> Path:
    return _shadow(t, m, ".model ds d_source(input_file=device_models/opamp.lib)\n")


@attack("shadow-d-state", SHADOWED)
def _shadow_d_state(t: Path, m: Path) -> Path:
    return _shadow(t, m, ".model st d_state(clk_delay=1n state_file = device_models/opamp.lib)\n",
                   absolute=True)


@attack("shadow-d-process", SHADOWED)
def _shadow_d_process(t: Path, m: Path) -> Path:
    return _shadow(t, m, ".model pr d_process(process_file=device_models/opamp.lib)\n")


@attack("shadow-with-instance", SHADOWED)
def _shadow_with_instance(t: Path, m: Path) -> Path:
    return _shadow(t, m, "A1 %vd([a 0]) fs\n.model fs filesource(file=device_models/opamp.lib)\n")


@attack("shadow-other-case", SHADOWED)  # one file on a case-insensitive file system
def _shadow_other_case(t: Path, m: Path) -> Path:
    return _shadow(t, m, ".model fs filesource(file=DEVICE_MODELS/opamp.lib)\n",
                   rel="DEVICE_MODELS/opamp.lib")


@attack("shadow-named-in-included-file", SHADOWED)
def _shadow_in_included(t: Path, m: Path) -> Path:
    _write(t / "d", "m.lib", ".model fs filesource(file=device_models/opamp.lib)\n")
    return _shadow(t, m, ".include m.lib\n")


@attack("data-file-is-an-included-file", r"deck layout conflict: data file 'models/m\.lib' "
        r"and included file .*m\.lib would be written to models/m\.lib")
def _data_is_include(t: Path, m: Path) -> Path:
    return _deck(t, DECK + ".include models/m.lib\n.model fs filesource(file=models/m.lib)\n",
                 {"models/m.lib": "R2 in 0 2k\n"})


@attack("data-file-is-a-lib-file", r"deck layout conflict: data file 'models/corners\.lib'")
def _data_is_lib(t: Path, m: Path) -> Path:
    return _deck(t, DECK + '.lib "models/corners.lib" tt\n'
                 ".model ds d_source(input_file=models/corners.lib)\n",
                 {"models/corners.lib": ".lib tt\nR2 in 0 2k\n.endl tt\n"})


@attack("file-named-device-models-as-data", r"data file 'device_models' refused")
def _device_models_data(t: Path, m: Path) -> Path:
    _write(t / "d", "device_models", _control(m))
    rel = os.path.relpath(PROJECT_MODEL, t / "d")
    return _deck(t, DECK + f'.include "{rel}"\n.model fs filesource(file=device_models)\n')


@attack("file-named-device-models-included", r"deck layout conflict: included file .*opamp\.lib "
        r"and included file .*device_models would be written")
def _device_models_include(t: Path, m: Path) -> Path:
    _write(t / "d", "device_models", "R2 in 0 2k\n")
    rel = os.path.relpath(PROJECT_MODEL, t / "d")
    return _deck(t, DECK + f'.include device_models\n.include "{rel}"\n')


@attack("include-under-a-runner-file", r"deck layout conflict: included file .*x\.lib and "
        r"the runner's own file")
def _include_under_runner_file(t: Path, m: Path) -> Path:
    return _deck(t, DECK + ".include out.raw/x.lib\n", {"out.raw/x.lib": "R2 in 0 2k\n"})


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_deck_is_refused_and_runs_nothing(tmp_path: Path, name: str) -> None:
    marker = tmp_path / "MARKER"
    build, match = ATTACKS[name]
    deck = build(tmp_path, marker)
    if match is None:  # accepted: the title line is handed on as a comment, never read
        user = load_user_deck(deck)
        assert user.checked.startswith("* .inc ") and user.files == ()
        return
    with pytest.raises(NetlistError, match=match):
        load_user_deck(deck)
    line = _one_line_error(_simulate(deck, "--op", "-o", tmp_path / "run"))
    assert line.startswith("error: ")
    assert not marker.exists()
    assert not (tmp_path / "run").exists()  # refused before the run folder is made


@pytest.mark.ngspice
@pytest.mark.parametrize("name", ["shadow-filesource-relative-include", "shadow-d-state"])
def test_shadowed_copy_would_run_the_shell(tmp_path: Path, name: str) -> None:
    """What the refused copy order did: the raw data file on top of the checked copy runs."""
    marker = tmp_path / "MARKER"
    deck = ATTACKS[name][0](tmp_path, marker)
    _raw_ngspice(deck)
    assert not marker.exists()  # ngspice on the deck where it lies is harmless
    from circuits import safety

    reader = safety._Reader(deck_root=deck.parent.resolve(), trusted=False)
    checked = reader.render(deck.read_text(), source="deck1.cir", dest=PurePosixPath("deck.cir"),
                            origin_dir=deck.parent.resolve(), has_title=True)
    work = tmp_path / "old"
    for file in reader.files.values():  # the old order: checked copies first ...
        _write(work, str(file.dest), file.text)
    for rel, origin in reader.data_files.items():  # ... then data files, raw, on top
        _write(work, str(rel), origin.read_bytes())
    _write(work, "deck.cir", checked + ".op\n.end\n")
    _raw_ngspice(work / "deck.cir")
    assert marker.exists(), "the overwritten copy did not run; this test shows nothing"


def _raw_ngspice(deck: Path) -> None:
    subprocess.run(["ngspice", "-b", deck.name], cwd=deck.parent, capture_output=True,
                   timeout=60, check=False, stdin=subprocess.DEVNULL)


@pytest.mark.ngspice
@pytest.mark.parametrize("name", ["inc-dash", "library", "lib-underscore", "cr-in-included-control",
                                  "ng-script", "control-after-end", "include-in-title",
                                  "uppercase-control"])
def test_attack_works_on_the_raw_bytes(tmp_path: Path, name: str) -> None:
    """The same bytes, given to ngspice directly, do run the shell command."""
    marker = tmp_path / "MARKER"
    deck = ATTACKS[name][0](tmp_path, marker)
    _raw_ngspice(deck)
    assert marker.exists(), f"ngspice did not run the {name} attack; the test shows nothing"


@pytest.mark.ngspice
def test_include_in_title_is_not_followed(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    deck = ATTACKS["include-in-title"][0](tmp_path, marker)
    result = _simulate(deck, "--op", "-o", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert not marker.exists()


@pytest.mark.ngspice
def test_spiceinit_in_the_deck_folder_is_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    _write(tmp_path, "d/.spiceinit", f"shell touch {marker}\n")
    deck = _write(tmp_path, "d/deck1.cir", DECK + ".end\n")
    _raw_ngspice(deck)
    assert marker.exists()  # ngspice runs it where it lies
    marker.unlink()
    result = _simulate(deck, "--op", "-o", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert not marker.exists()
    # the only .spiceinit there is the runner's own (one BSIM thread, circuits.runner)
    from circuits.runner import SPICEINIT

    assert (tmp_path / "run" / "spice" / ".spiceinit").read_text() == SPICEINIT


def test_run_folder_holding_spiceinit_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    _write(tmp_path, "run/spice/.spiceinit", f"shell touch {marker}\n")
    deck = _write(tmp_path, "d/deck1.cir", DECK)
    line = _one_line_error(_simulate(deck, "--op", "-o", tmp_path / "run"))
    assert "not empty" in line  # the command refuses any used folder first
    assert not marker.exists()
    # The copier itself refuses a folder holding a .spiceinit, whoever calls it.
    with pytest.raises(NetlistError, match=r"\.spiceinit"):
        copy_includes(load_user_deck(deck), tmp_path / "run" / "spice")
    assert not marker.exists()


# --- what is accepted --------------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted((PROJECT / "device_models").glob("*")),
                         ids=lambda p: p.name)
def test_every_model_file_passes(tmp_path: Path, path: Path) -> None:
    check_user_deck(path.read_text(), source=path.name, has_title=False)
    rel = os.path.relpath(path, tmp_path)  # climbs out of tmp_path into device_models/
    deck = _write(tmp_path, "deck1.cir", DECK + f'.include "{rel}"\n')
    user = load_user_deck(deck)
    assert [str(f.dest) for f in user.files] == [f"device_models/{path.name}"]
    assert '.include "device_models/' + path.name + '"' in user.checked


@pytest.mark.parametrize("path", sorted((PROJECT / "netlists").glob("*")), ids=lambda p: p.name)
def test_every_golden_netlist_passes(path: Path) -> None:
    check_user_deck(path.read_text(), source=path.name)
    user = load_user_deck(path)
    assert user.files, "the golden netlists include model files"
    for file in user.files:
        assert file.origin.is_relative_to(MODEL_ROOT.resolve()) or \
            file.origin.is_relative_to(path.parent.resolve())


def test_project_netlist_constructs_pass() -> None:
    check_user_deck(DECK + '.include "rram_cell.lib"\n.subckt amp inp inn out\n'
                    "Bamp out 0 V=0.55+0.55*tanh(18.1*(v(inp)-v(inn)))\n.ends amp\n"
                    "XA0 a b c amp\nMN0 d g 0 0 NMOS_VTG W=2u L=1u m=10\n"
                    ".nodeset v(a)=0.5 v(b)=0.3\nEbuf n2 0 n1 0 1\nCf a b 5e-13\n"
                    ".param r1 = 1e6\n.model NMOS_L1 nmos level=1 kp=1.984e-4\n"
                    ".options reltol=1e-4\n.ic v(a)=0\n.temp 27\n.global vdd\n"
                    ".func f(x) {2*x}\nL1 a b 1n\nD1 a 0 dmod\n.op\n.dc V1 0 1 0.1\n"
                    ".tran 1n 1u\n.ac dec 10 1 1g\n.end\n")


def test_analyses_that_simulate_strips_are_accepted() -> None:
    assert {".op", ".dc", ".tran", ".ac", ".noise"} <= DOT_COMMANDS
    assert {w for w in ANALYSIS_WORDS if w in DOT_COMMANDS} >= {".op", ".dc", ".tran"}


def test_checked_text_is_what_ngspice_gets(tmp_path: Path) -> None:
    _write(tmp_path, "d/models/m.lib",
           b"* model\r\nR2 out 0\r\n* between\r\n+ 2k\r\n.end\r\nR3 out 0 3k\r\n")
    _write(tmp_path, "d/lib.lib", ".lib tt\nR4 out 0 4k\n.endl tt\n")
    deck = _write(tmp_path, "d/deck1.cir", b"** my deck\r\nV1 in 0 1\r\nR1 in out\r\n"
                  b"  $ comment\r\n+ 1k ; inline\r\n.INC models/m.lib\r\n.lib lib.lib tt\r\n"
                  b".op\r\n.end\r\nafter end\r\n")
    user = load_user_deck(deck)
    assert user.checked == ('* my deck\nV1 in 0 1\nR1 in out 1k ; inline\n'
                            '.include "models/m.lib"\n.lib "lib.lib" tt\n.op\n.end\n')
    files = {str(f.dest): f.text for f in user.files}
    assert files == {"models/m.lib": "R2 out 0 2k\nR3 out 0 3k\n",
                     "lib.lib": ".lib tt\nR4 out 0 4k\n.endl tt\n"}
    written = copy_includes(user, tmp_path / "run")
    assert sorted(p.relative_to(tmp_path / "run").as_posix() for p in written) == \
        ["lib.lib", "models/m.lib"]
    assert (tmp_path / "run" / "models" / "m.lib").read_bytes() == b"R2 out 0 2k\nR3 out 0 3k\n"


def test_nested_includes_are_rewritten_relative_to_their_copy(tmp_path: Path) -> None:
    deck = _write(tmp_path, "d/deck1.cir", DECK + '.include "models/a.lib"\n')
    _write(tmp_path, "d/models/a.lib", '.include "b.lib"\n.include "../top.lib"\n'
           '.include "sub/../b.lib"\n')
    _write(tmp_path, "d/models/b.lib", "R2 in 0 2k\n")
    _write(tmp_path, "d/top.lib", "R3 in 0 3k\n")
    user = load_user_deck(deck)
    assert [str(f.dest) for f in user.files] == ["models/a.lib", "models/b.lib", "top.lib"]
    assert user.files[0].text == ('.include "b.lib"\n.include "../top.lib"\n'
                                  '.include "b.lib"\n')


@pytest.mark.parametrize("target", ["/etc/passwd", "~/x.lib", "C:/models/x.lib"])
def test_absolute_include_refused(tmp_path: Path, target: str) -> None:
    deck = _write(tmp_path, "deck1.cir", DECK + f'.include "{target}"\n')
    with pytest.raises(NetlistError, match=r"deck1\.cir:4: include of "):
        load_user_deck(deck)


def test_xspice_data_file_in_folder_is_copied(tmp_path: Path) -> None:
    _write(tmp_path, "d/data/in.txt", "0 0.25\n1 0.25\n")
    deck = _write(tmp_path, "d/deck1.cir", DECK + "A1 %vd([a 0]) src\nR2 a 0 1\n"
                  '.model src filesource (file="data/in.txt" amploffset=[0] amplscale=[1])\n')
    user = load_user_deck(deck)
    origin = (tmp_path / "d" / "data" / "in.txt").resolve()
    assert user.data_files == ((PurePosixPath("data/in.txt"), origin),)
    copy_includes(user, tmp_path / "run")
    assert (tmp_path / "run" / "data" / "in.txt").read_text() == "0 0.25\n1 0.25\n"


def test_allow_control_hands_the_deck_on_as_written(tmp_path: Path) -> None:
    lib = _write(tmp_path, "elsewhere/x.lib", "R2 in 0 2k\n")
    _write(tmp_path, "d/m.lib", "*#echo hi\nR3 in 0 3k\n")
    deck = _write(tmp_path, "d/deck1.cir", DECK + f'.include "{lib}"\n.inc m.lib\n'
                  ".control\necho hi\n.endc\n")
    user = load_user_deck(deck, allow_control=True)
    assert user.checked == DECK + f'.include "{lib}"\n.include "m.lib"\n.control\necho hi\n.endc\n'
    assert [(str(f.dest), f.text) for f in user.files] == [("m.lib", "*#echo hi\nR3 in 0 3k\n")]
    check_user_deck(DECK + ".control\nshell echo hi\n.endc\n", allow_control=True)


def test_include_outside_folder_refused_even_when_trusted(tmp_path: Path) -> None:
    _write(tmp_path, "x.lib", "R2 in 0 2k\n")
    deck = _write(tmp_path, "d/deck1.cir", DECK + '.include "../x.lib"\n')
    with pytest.raises(NetlistError, match="outside the deck's folder"):
        load_user_deck(deck, allow_control=True)


def test_include_targets_follow_ngspice_prefix_rule() -> None:
    text = ('* t\n.include "a b.lib"\n.inc \'c.lib\'\n.INCLUDE d.lib\n'
            '.lib models.lib tt\n.lib tt\n.endl\n.inc-x e.lib\n.library f.lib s\n')
    assert include_targets(text) == [(2, "a b.lib"), (3, "c.lib"), (4, "d.lib"),
                                     (5, "models.lib"), (8, "e.lib"), (9, "f.lib")]


@pytest.mark.parametrize("name", ["deck.cir", "out.raw", "spinit"])
def test_reserved_include_names_refused(tmp_path: Path, name: str) -> None:
    _write(tmp_path, name, "R2 in 0 2k\n")
    deck = _write(tmp_path, "deck1.cir", DECK + f'.include "{name}"\n')
    with pytest.raises(NetlistError, match="reserved"):
        load_user_deck(deck)


def test_title_line_may_hold_any_word() -> None:
    check_user_deck("shell amplifier test\nR1 a 0 1\n")


@pytest.mark.parametrize("line", ["#include x", "1R a b 1", "N1 a b osdimodel", "Z1 a b c m"])
def test_lines_outside_the_allowlist_refused(line: str) -> None:
    _refused(DECK + line + "\n", r"deck\.cir:4: .* is neither an element")


@pytest.mark.parametrize("line", ["\u212a1 a b 1n", ".\u0130nclude x.lib", "\u00a0.control",
                                  ".inc\u00a0-x /etc/passwd"])
def test_non_ascii_words_refused(line: str) -> None:
    """Python's lower() and split() know Unicode; ngspice does not, so such words are refused."""
    _refused(DECK + line + "\n", r"deck\.cir:4: .* must be ASCII")


# --- files that are not decks --------------------------------------------------------------

def test_dev_zero_refused_before_reading(tmp_path: Path) -> None:
    line = _one_line_error(_simulate(Path("/dev/zero"), "--op", "-o", tmp_path / "run"))
    assert "/dev/zero: not a regular file" in line


def test_huge_deck_refused_by_size(tmp_path: Path) -> None:
    huge = tmp_path / "huge.cir"
    with huge.open("wb") as handle:  # sparse: no disk space used
        handle.truncate(MAX_DECK_BYTES + 1)
    line = _one_line_error(_simulate(huge, "--op", "-o", tmp_path / "run"))
    assert f"more than the {MAX_DECK_BYTES} bytes allowed" in line


def test_huge_included_file_refused_by_size(tmp_path: Path) -> None:
    with (tmp_path / "big.lib").open("wb") as handle:
        handle.truncate(MAX_DECK_BYTES - 10)
    deck = _write(tmp_path, "deck1.cir", DECK + ".include big.lib\n")
    with pytest.raises(NetlistError, match=r"big\.lib: \d+ bytes, more than the \d+ bytes"):
        load_user_deck(deck)


@pytest.mark.parametrize("text", ["", "\n\n", "* only a title\n", "* title\n* comment\n.end\n"])
def test_empty_or_title_only_deck_is_one_line(tmp_path: Path, text: str) -> None:
    deck = _write(tmp_path, "deck1.cir", text)
    line = _one_line_error(_simulate(deck, "--op", "-o", tmp_path / "run"))
    assert "deck1.cir: the deck" in line


def test_symlink_loop_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    for text in (".include a\n", "A1 %vd([a 0]) s\n.model s filesource (file=a)\n"):
        deck = _write(tmp_path, "deck1.cir", DECK + text)
        with pytest.raises(NetlistError, match=r"deck1\.cir:[45]: cannot follow the symbolic"):
            load_user_deck(deck)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(NetlistError, match=r"cannot read netlist .*nope\.cir: no such file$"):
        read_text_file(tmp_path / "nope.cir")


def test_missing_include_names_it(tmp_path: Path) -> None:
    deck = _write(tmp_path, "deck1.cir", DECK + '.include "gone.lib"\n')
    with pytest.raises(NetlistError, match=r"cannot read included file .*gone\.lib: no such file"):
        load_user_deck(deck)


def test_binary_and_undecodable_files_refused(tmp_path: Path) -> None:
    binary = _write(tmp_path, "b.cir", b"* t\n\x00\x01\x02")
    with pytest.raises(NetlistError, match="binary file"):
        read_text_file(binary)
    latin = _write(tmp_path, "l.cir", b"* t \xb5\nR1 a 0 1\n")
    with pytest.raises(NetlistError, match=r"not UTF-8 text \(byte 0xb5 at offset 4\)"):
        read_text_file(latin)


def test_folder_is_not_a_netlist(tmp_path: Path) -> None:
    with pytest.raises(NetlistError, match="it is a folder"):
        read_text_file(tmp_path)


# --- a normal deck runs ------------------------------------------------------------------------

USER_DECK = """RC divider with a model library
* a comment, and a continuation after it
.include "models/load.lib"
.lib "models/corners.lib" tt
.param rtop = 1k
V1 in 0 DC 1 PULSE(0 1 0 1n 1n 1 2)
R1 in out
+ {rtop}
C1 out 0 1n
Xload out loadsub
.options reltol=1e-4
.op
.tran 1n 1u
.dc V1 0 1 0.5
.end
"""


@pytest.mark.ngspice
@pytest.mark.parametrize("analysis", [["--op"], ["--dc", "V1", "0", "1", "0.5"],
                                      ["--tran", "10n", "2u"]], ids=["op", "dc", "tran"])
def test_normal_user_deck_runs(tmp_path: Path, analysis: list[str]) -> None:
    _write(tmp_path, "d/models/load.lib", ".subckt loadsub a\nRl a 0 {rl}\n.ends loadsub\n")
    _write(tmp_path, "d/models/corners.lib", ".lib tt\n.param rl = 1k\n.endl tt\n"
           ".lib ff\n.param rl = 2k\n.endl ff\n")
    deck = _write(tmp_path, "d/user.cir", USER_DECK)
    run = tmp_path / "run"
    result = _simulate(deck, *analysis, "-o", run, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert len(summary["removed_analysis_lines"]) == 3
    data = __import__("pandas").read_csv(run / "results.csv")
    if analysis[0] == "--op":
        assert data["v(out) [V]"].iloc[0] == pytest.approx(0.5)
    elif analysis[0] == "--dc":
        assert list(data["v(out) [V]"]) == pytest.approx([0, 0.25, 0.5])
    else:
        assert data["v(out) [V]"].iloc[-1] == pytest.approx(0.5 * (1 - 2.718281828 ** -4), abs=0.02)
    spice = (run / "spice" / "deck.cir").read_text()
    assert "* a comment" not in spice and "R1 in out {rtop}" in spice
    assert (run / "spice" / "models" / "corners.lib").is_file()


@pytest.mark.ngspice
def test_deck_including_device_models_runs(tmp_path: Path) -> None:
    """A deck outside the project may include device_models/ files, by relative path."""
    rel = os.path.relpath(MODEL_ROOT / "opamp.lib", tmp_path)
    deck = _write(tmp_path, "tia.cir", f'* TIA\n.include "{rel}"\nIin 0 in DC 1u\n'
                  "Vref ref 0 DC 0\nXtia ref in out opamp a0=10000 gbw=1e8 sr=1e8 vos=0 "
                  "vmin=-0.45 vmax=0.45 vknee=0.005 rout=100\nRf in out 1k\n.end\n")
    run = tmp_path / "run"
    result = _simulate(deck, "--op", "-o", run, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["values"]["v(out) [V]"] == pytest.approx(-1e-3, rel=1e-3)
    assert '.include "device_models/opamp.lib"' in (run / "spice" / "deck.cir").read_text()
    assert (run / "spice" / "device_models" / "opamp.lib").is_file()


# --- the copy step itself, and the project models' .lib sections -------------------------------

@pytest.mark.parametrize("absolute", [False, True], ids=["relative", "absolute"])
def test_project_lib_section_cannot_be_shadowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                absolute: bool) -> None:
    models = _write(tmp_path, "project/device_models/corners.lib",
                    ".lib tt\nR5 in 0 5k\n.endl tt\n").parent
    monkeypatch.setattr("circuits.safety.MODEL_ROOT", models)
    marker = tmp_path / "MARKER"
    _write(tmp_path / "d", "device_models/corners.lib", _control(marker))
    target = models / "corners.lib" if absolute else os.path.relpath(models / "corners.lib",
                                                                     tmp_path / "d")
    deck = _deck(tmp_path, DECK + f'.lib "{target}" tt\n'
                 ".model ds d_source(input_file=device_models/corners.lib)\n")
    line = _one_line_error(_simulate(deck, "--op", "-o", tmp_path / "run"))
    assert "data file 'device_models/corners.lib' refused" in line
    assert not marker.exists() and not (tmp_path / "run").exists()
    # Without the data file, the section is copied as checked and the include points at it.
    deck = _deck(tmp_path, DECK + f'.lib "{target}" tt\n')
    user = load_user_deck(deck)
    assert '.lib "device_models/corners.lib" tt' in user.checked
    copy_includes(user, tmp_path / "run2")
    assert (tmp_path / "run2" / "device_models" / "corners.lib").read_text() == \
        ".lib tt\nR5 in 0 5k\n.endl tt\n"


def test_copy_never_writes_one_file_over_another(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Even with the layout check switched off, the copier refuses to overwrite a copy."""
    hostile = _write(tmp_path, "d/m.lib", ".control\nshell echo hi\n.endc\n")
    deck = UserDeck(text=DECK, checked=DECK, source="deck1.cir", folder=tmp_path / "d",
                    files=(CheckedFile(PurePosixPath("m.lib"), "R2 in 0 2k\n", hostile),),
                    data_files=((PurePosixPath("m.lib"), hostile),))
    with pytest.raises(NetlistError, match=r"deck layout conflict: data file 'm\.lib'"):
        copy_includes(deck, tmp_path / "run")
    monkeypatch.setattr("circuits.safety.check_layout", lambda deck: None)
    with pytest.raises(NetlistError, match=r"m\.lib exists already"):
        copy_includes(deck, tmp_path / "run2")


def test_copy_is_checked_byte_for_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy that is not the checked text (here: written short) stops the run."""
    origin = _write(tmp_path, "d/m.lib", "R2 in 0 2k\n")
    deck = UserDeck(text=DECK, checked=DECK, source="deck1.cir", folder=tmp_path / "d",
                    files=(CheckedFile(PurePosixPath("m.lib"), "R2 in 0 2k\n", origin),))
    from circuits import safety

    real = safety._write_new
    monkeypatch.setattr(safety, "_write_new",
                        lambda workdir, rel, data: real(workdir, rel, data[:-3]))
    with pytest.raises(NetlistError, match=r"copy of m\.lib .* is not the checked text"):
        copy_includes(deck, tmp_path / "run")


def test_data_file_beside_a_project_model_is_copied(tmp_path: Path) -> None:
    _write(tmp_path, "d/data/in.txt", "0 0.25\n1 0.25\n")
    rel = os.path.relpath(PROJECT_MODEL, tmp_path / "d")
    deck = _deck(tmp_path, DECK + f'.include "{rel}"\n'
                 ".model src filesource (file=data/in.txt)\n")
    user = load_user_deck(deck)
    written = copy_includes(user, tmp_path / "run")
    assert sorted(p.relative_to(tmp_path / "run").as_posix() for p in written) == \
        ["data/in.txt", "device_models/opamp.lib"]
    assert (tmp_path / "run" / "device_models" / "opamp.lib").read_text() == user.files[0].text


# --- what included files may ask for: analyses, size, depth ----------------------------------

@pytest.mark.ngspice
@pytest.mark.timeout(60)
def test_analyses_in_included_files_are_removed(tmp_path: Path) -> None:
    """A long transient in an included file would write about 1 GB; it is removed and reported."""
    _write(tmp_path, "d/models/a.lib", "R2 in 0 1k\n.tran 1p 100u\n.include b.lib\n")
    _write(tmp_path, "d/models/b.lib", ".ac dec\n+ 10 1 1g\nR3 in 0 1k\n.dc V1 0 1 1e-9\n")
    deck = _deck(tmp_path, DECK + ".include models/a.lib\n.op\n")
    run = tmp_path / "run"
    result = _simulate(deck, "--op", "-o", run, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["removed_analysis_lines"] == [
        ".op", "models/a.lib: .tran 1p 100u", "models/b.lib: .ac dec 10 1 1g",
        "models/b.lib: .dc V1 0 1 1e-9"]
    assert summary["values"]["i(v1) [A]"] == pytest.approx(-3e-3)
    assert ".tran" not in (run / "spice" / "models" / "a.lib").read_text()
    assert _tree_bytes(run) < 2**20


@pytest.mark.ngspice
@pytest.mark.timeout(60)
def test_raw_file_is_capped_while_ngspice_writes(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cosim.commands.simulate.MAX_RAW_BYTES", 100_000)
    deck = _deck(tmp_path, "* rc\nV1 in 0 SIN(0 1 1meg)\nR1 in out 1k\nC1 out 0 1n\n")
    run = tmp_path / "run"
    line = _one_line_error(_simulate(deck, "--tran", "10n", "200u", "-o", run))
    assert "raw file grew past 97.7 KiB" in line and "ngspice was stopped" in line
    assert not (run / "spice" / "out.raw").exists()
    assert _tree_bytes(run) < 2**20


@pytest.mark.ngspice
@pytest.mark.timeout(60)
def test_timeout_leaves_no_partial_raw_file(tmp_path: Path) -> None:
    deck = _deck(tmp_path, "* rc\nV1 in 0 SIN(0 1 1meg)\nR1 in out 1k\nC1 out 0 1n\n")
    run = tmp_path / "run"
    line = _one_line_error(_simulate(deck, "--tran", "1n", "1m", "--timeout", "1", "-o", run))
    assert "timed out after 1 s" in line
    assert not (run / "spice" / "out.raw").exists()
    assert _tree_bytes(run) < 2**20


def test_include_expansion_bomb_refused(tmp_path: Path) -> None:
    """Seven 10-line files, each including the next ten times: 10^7 copies of the last."""
    for level in range(7):
        body = "".join(f"R{level}_{k} n{k} 0 1k\n" for k in range(10))
        body += f".include f{level + 1}.lib\n" * 10 if level < 6 else ""
        _write(tmp_path, f"d/f{level}.lib", body)
    deck = _deck(tmp_path, DECK + ".include f0.lib\n")
    line = _one_line_error(_simulate(deck, "--op", "-o", tmp_path / "run"))
    assert "with its includes expanded the deck is" in line and "more than the 64 MiB" in line
    assert not (tmp_path / "run").exists()
    # The chain cut at f2 (100 copies of a short file) passes.
    (tmp_path / "d" / "f2.lib").write_text("R2 a 0 1k\n")
    load_user_deck(deck)


@pytest.mark.parametrize(("depth", "refused"), [(MAX_INCLUDE_DEPTH, False),
                                                (MAX_INCLUDE_DEPTH + 1, True), (600, True)])
def test_include_depth_has_its_own_limit(tmp_path: Path, depth: int, refused: bool) -> None:
    for i in range(depth):
        _write(tmp_path, f"d/c{i}.lib", f"R{i} a 0 1k\n" + (f".include c{i + 1}.lib\n"
                                                             if i + 1 < depth else ""))
    deck = _deck(tmp_path, DECK + ".include c0.lib\n")
    if not refused:
        assert len(load_user_deck(deck).files) == depth
        return
    line = _one_line_error(_simulate(deck, "--op", "-o", tmp_path / "run"))
    assert f"includes nested more than {MAX_INCLUDE_DEPTH} files deep" in line
    assert "symbolic" not in line
