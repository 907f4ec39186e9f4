"""Checks on netlists and model files that come from the user.

A user's deck is data, but ngspice also reads it as a program: its control
language (``.control`` ... ``.endc``) can run shell commands (``shell``),
read further command files (``source``) and load code (``codemodel``), and
ngspice recognises several commands by prefix only (any first word starting
with ``.inc`` or ``.lib`` is an include, any starting with ``.control`` opens
a control block). A list of forbidden words keeps missing spellings, so an
untrusted deck is read with ngspice's own line rules and checked against an
allowlist, and ngspice is given the text that was checked, never the bytes
as found.

How every file (the deck and each included file) is read, as ngspice 39 does:

- carriage returns are dropped wherever they stand (``.con\\rtrol`` is
  ``.control``); lines end at ``\\n`` only;
- a line whose first non-blank character is ``+`` continues the last
  non-comment line (comment and blank lines between them are skipped);
- case does not matter; leading blanks do not matter;
- the first line of the deck is its title, and ngspice still follows an
  include written there; it is handed on as a comment (``* <title>``).

Accepted in an untrusted deck (every line of every file, also after ``.end``):

- comments (``*``, ``$``, ``;``) and blank lines, except a ``*#`` line (ngspice
  runs it as a control command) and a ``*ng_script`` line (it makes the file
  a command script); comments are not handed on;
- element lines whose first letter is in :data:`ELEMENT_LETTERS`;
- dot-commands in :data:`DOT_COMMANDS`, matched as whole words.

Refused: every other line, a first word that is not ASCII (ngspice splits
words at blanks and tabs only and knows no Unicode case), a line ending in a
backslash (ngspice joins it to the next one), control characters, an element
named after an interpreter command (``shell``, ``source``, ...), a continuation
line with nothing to continue, and include cycles (ngspice crashes on them).
Each refusal names the file, the line and the reason.

Files: an include (``.include``/``.inc`` file, ``.lib`` file section) must name
a file that lies, after following symbolic links, inside the deck's folder or
inside the project's own model folder ``device_models/`` (trusted to be read,
still checked by the same rules); ``~`` and paths leaving both are refused.
Included files are checked the same way and written into the run folder as
checked text (deck-folder files keep their layout, model files go to
``device_models/``), and the include lines are rewritten to name those copies
by relative paths. Data files named by XSPICE code-model parameters whose name
ends in ``file`` (``filesource``'s ``file``, ``d_source``'s ``input_file``,
``d_state``'s ``state_file`` ...) must be plain relative paths inside the deck's
folder; they are copied as they are. Every copied file needs a place of its
own in the run folder (:func:`check_layout`: no two equal, none inside
another's, case ignored; no data file under ``device_models/``), and
:func:`copy_includes` writes the data files first and the checked files last,
never over an existing file, then compares each copy with the checked text
byte for byte: a data file can never stand in for a checked include. Files
are read only if they are regular files, and all of them together may hold at
most :data:`MAX_DECK_BYTES` bytes, both as read and as ngspice expands them
(an include line counts the whole expanded size of the file it names); includes
nest at most :data:`MAX_INCLUDE_DEPTH` files deep. A file named ``.spiceinit``,
``spice.rc`` or ``spinit`` is never included (ngspice runs a ``.spiceinit`` in its
working folder at start-up), nor one named as the runner's own files.

With ``allow_control`` (the CLI's ``--allow-control``) the deck is trusted: its
lines are handed on as written (carriage returns dropped), with only the
include lines that name files in the deck's folder or ``device_models/``
rewritten to the copies; absolute includes elsewhere are left in place (read
where they lie), and a relative include leaving both folders is still refused.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from circuits.errors import NetlistError, format_bytes
from circuits.files import read_regular, regular_file
from circuits.netlist import MODEL_DIR

CONTROL_HINT = (
    "ngspice's control language can run shell commands, so user decks may not use it; "
    "pass --allow-control only for a deck you trust"
)
ELEMENT_LETTERS = frozenset("abcdefghijklmopqrstuvwxy")
"""First letters of accepted element lines (all of ngspice's but N, OSDI devices, and Z)."""
ANALYSIS_COMMANDS = frozenset({".op", ".dc", ".tran", ".ac", ".noise", ".tf"})
DOT_COMMANDS = frozenset({
    ".title", ".end", ".subckt", ".ends", ".model", ".param", ".func", ".global",
    ".include", ".inc", ".lib", ".endl", ".options", ".option", ".ic", ".nodeset",
    ".temp", ".save", ".print", ".meas", ".measure",
}) | ANALYSIS_COMMANDS
"""Dot-commands accepted in an untrusted deck, as whole first words."""
INTERPRETER_WORDS = frozenset({"shell", "source", "exec", "codemodel", "osdi"})
INIT_FILES = frozenset({".spiceinit", "spice.rc", "spinit"})
RUNNER_FILES = frozenset({"deck.cir", "out.raw", "ngspice.log"})
MAX_INCLUDED_FILES = 1000
MAX_INCLUDE_DEPTH = 50
"""Most files in one chain of includes (the deck includes a, a includes b, ...)."""
MAX_DECK_BYTES = 64 * 2**20
"""Most bytes the deck, its included files and data files may hold together."""
MAX_EXPANDED_BYTES = MAX_DECK_BYTES
"""Most bytes of the text ngspice assembles: it reads an included file again at every
include line, so a file included ten times counts ten times (recursively)."""
MODEL_ROOT = MODEL_DIR
MODEL_DEST = PurePosixPath("device_models")

_CONTROL_CHAR = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TOKEN = re.compile(r'"[^"]*"|\'[^\']*\'|=|[^ \t=(),\[\]]+')
_BLANKS = re.compile(r"[ \t]+")  # ngspice's word separators (\v and \f are refused)


@dataclass(frozen=True)
class Line:
    """One logical line: a line with its ``+`` continuations joined.

    Attributes:
        number: physical line number (from 1) where it starts.
        text: the line without leading blanks, continuations joined by a blank.
        first: index of its first physical line; last: of its last one.
    """

    number: int
    text: str
    first: int
    last: int

    @property
    def word(self) -> str:
        """First word, lower case."""
        return _BLANKS.split(self.text, 1)[0].lower()


@dataclass(frozen=True)
class CheckedFile:
    """An included file as it is written into a run folder.

    Attributes:
        dest: path under the run folder.
        text: the checked text (or, for a trusted deck, its lines with includes rewritten).
        origin: the file it was read from.
    """

    dest: PurePosixPath
    text: str
    origin: Path


@dataclass(frozen=True)
class UserDeck:
    """A user's deck and the files it includes, read and checked.

    Attributes:
        text: the deck as read (for its hash).
        checked: the deck text to hand ngspice: the checked lines, includes
            rewritten to the copies in a run folder.
        source: how to name the deck in messages (the path as the user gave it).
        folder: the deck's folder.
        files: included files, in reading order, to write into a run folder.
        data_files: ``(path under the run folder, file on disk)`` of XSPICE data files.
        trusted: whether the deck was accepted with ``allow_control``.
    """

    text: str
    checked: str
    source: str
    folder: Path
    files: tuple[CheckedFile, ...] = ()
    data_files: tuple[tuple[PurePosixPath, Path], ...] = ()
    trusted: bool = False

    @property
    def includes(self) -> tuple[tuple[PurePosixPath, Path], ...]:
        """``(path under the run folder, file on disk)`` of every included file."""
        return tuple((f.dest, f.origin) for f in self.files)


def read_text_file(path: Path, what: str = "netlist", limit: int = MAX_DECK_BYTES) -> str:
    """Read a text file, refusing missing, special, oversized, binary and non-UTF-8 files.

    The size is checked before reading, so ``/dev/zero`` or a huge file is
    refused at once.

    Raises:
        NetlistError: one line naming the file and the reason.
    """
    path = regular_file(path, what, error=NetlistError)
    size = path.stat().st_size
    if size > limit:
        raise NetlistError(f"cannot read {what} {path}: {size} bytes, more than "
                           f"the {limit} bytes allowed for a deck and its files")
    blob = read_regular(path, what, limit, error=NetlistError)
    if b"\x00" in blob:
        raise NetlistError(f"cannot read {what} {path}: it is a binary file, not SPICE text")
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NetlistError(
            f"cannot read {what} {path}: not UTF-8 text (byte 0x{blob[exc.start]:02x} "
            f"at offset {exc.start})"
        ) from None
    return text.removeprefix("\ufeff")


def physical_lines(text: str) -> list[str]:
    """The lines ngspice reads: carriage returns dropped, split at ``\\n`` only."""
    lines = text.replace("\r", "").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def logical_lines(lines: list[str], *, has_title: bool) -> list[Line]:
    """Join ``+`` continuations as ngspice does; comments and blank lines are left out.

    A ``+`` line with nothing before it stays a line of its own (word ``+...``).
    """
    found: list[Line] = []
    for index, raw in enumerate(lines):
        if has_title and index == 0:
            continue
        s = raw.lstrip(" \t")
        if _is_comment(s):
            continue
        if s.startswith("+") and found:
            prev = found[-1]
            found[-1] = Line(prev.number, prev.text + " " + s[1:].strip(),
                             prev.first, index)
            continue
        found.append(Line(index + 1, s.rstrip(), index, index))
    return found


def _is_comment(s: str) -> bool:
    return not s.strip() or s[0] in "*$;" or s.startswith("//")


def check_user_deck(text: str, *, allow_control: bool = False, source: str = "<deck>",
                    has_title: bool = True) -> None:
    """Check the lines of one deck or included file (its includes are not followed).

    Args:
        text: deck or included file.
        allow_control: the deck is trusted; nothing is refused.
        source: name of the text in messages.
        has_title: line 1 is a title (a deck) rather than content (an included file).

    Raises:
        NetlistError: ``"<source>:<line>: <reason>"`` for the first refused line.
    """
    if allow_control:
        return
    lines = physical_lines(text)
    _check_physical(lines, source, has_title)
    for line in logical_lines(lines, has_title=has_title):
        _check_line(line, source)


def _check_physical(lines: list[str], source: str, has_title: bool) -> None:
    for number, raw in enumerate(lines, start=1):
        s = raw.lstrip(" \t")
        if s.lower().startswith("*ng_script"):
            raise NetlistError(f"{source}:{number}: '*ng_script' makes ngspice run the file "
                               f"as a command script; {CONTROL_HINT}")
        if has_title and number == 1:
            continue
        bad = _CONTROL_CHAR.search(raw)
        if bad:
            raise NetlistError(f"{source}:{number}: control character "
                               f"0x{ord(bad.group()):02x} refused")
        if s.startswith("*#"):
            raise NetlistError(f"{source}:{number}: a '*#' line is run by ngspice as a "
                               f"control command; {CONTROL_HINT}")
        if not _is_comment(s) and s.rstrip().endswith("\\"):
            raise NetlistError(f"{source}:{number}: a line ending in a backslash is joined "
                               f"to the next one by ngspice; refused")


def _check_line(line: Line, source: str) -> None:
    where = f"{source}:{line.number}"
    word = line.word
    first = _BLANKS.split(line.text, 1)[0]
    if word.startswith("+"):
        raise NetlistError(f"{where}: continuation line '+' with no line before it")
    if not first.isascii():
        raise NetlistError(f"{where}: '{first}' refused: an element name or dot-command "
                           f"must be ASCII")
    if word.startswith("."):
        if word in DOT_COMMANDS:
            return
        if word.startswith((".control", ".endc")):
            raise NetlistError(f"{where}: '{first}' block refused; {CONTROL_HINT}")
        if word.startswith((".inc", ".lib")):
            raise NetlistError(
                f"{where}: '{first}' refused: ngspice reads any command starting with "
                f"'.inc' or '.lib' as an include; write .include, .inc or .lib")
        raise NetlistError(f"{where}: dot-command '{first}' is not accepted in a deck "
                           f"(accepted: {' '.join(sorted(DOT_COMMANDS))}); {CONTROL_HINT}")
    if word in INTERPRETER_WORDS or word.startswith("pre_"):
        raise NetlistError(f"{where}: interpreter command '{first}' refused; {CONTROL_HINT}")
    if word[:1] not in ELEMENT_LETTERS:
        raise NetlistError(
            f"{where}: '{first}' is neither an element (first letter one of "
            f"{''.join(sorted(ELEMENT_LETTERS)).upper()}) nor an accepted dot-command")


def _include_of(line: Line) -> tuple[str, str, str] | None:
    """``(kind, path, section)`` of an include line as ngspice reads it (by prefix), or None.

    ``kind`` is ``"include"`` or ``"lib"``; a one-word ``.lib`` opens a library
    section and names no file.
    """
    word = line.word
    if not word.startswith((".inc", ".lib")):
        return None
    parts = _BLANKS.split(line.text, 1)
    words = _split_words(parts[1] if len(parts) > 1 else "")
    if word.startswith(".inc"):
        return ("include", words[0], "") if words else ("include", "", "")
    if len(words) < 2:
        return None
    return "lib", words[0], words[1]


def _split_words(rest: str) -> list[str]:
    return [a or b or c for a, b, c in re.findall(r'"([^"]*)"|\'([^\']*)\'|([^ \t]+)', rest)]


def include_targets(text: str) -> list[tuple[int, str]]:
    """``(line number, path as written)`` of every include in an included file's text.

    Includes are recognised as ngspice does: any first word starting with
    ``.inc``, or starting with ``.lib`` and followed by a file and a section.
    """
    return [(line.number, inc[1]) for line in logical_lines(physical_lines(text), has_title=False)
            if (inc := _include_of(line)) and inc[1]]


@dataclass
class _Reader:
    """Follows a deck's includes, checking and rewriting each file once."""

    deck_root: Path
    trusted: bool
    budget: int = MAX_DECK_BYTES
    files: dict[PurePosixPath, CheckedFile | None] = field(default_factory=dict)
    data_files: dict[PurePosixPath, Path] = field(default_factory=dict)
    elements: int = 0
    depth: int = 0
    sizes: dict[PurePosixPath, int] = field(default_factory=dict)
    """Bytes of each rendered file (the deck is ``deck.cir``)."""
    children: dict[PurePosixPath, list[PurePosixPath]] = field(default_factory=dict)
    """Each file's include lines, in order, by the destination they name (repeats kept)."""

    def read(self, path: Path, what: str) -> str:
        text = read_text_file(path, what, limit=self.budget)
        self.budget -= len(text.encode())
        return text

    def render(self, text: str, *, source: str, dest: PurePosixPath, origin_dir: Path,
               has_title: bool) -> str:
        """The text to hand ngspice for one file; follows and renders its includes."""
        lines = physical_lines(text)
        check_user_deck(text, allow_control=self.trusted, source=source, has_title=has_title)
        logical = logical_lines(lines, has_title=has_title)
        out: list[str] = []
        if has_title and not self.trusted:
            title = " ".join(_CONTROL_CHAR.sub(" ", lines[0]).split()).lstrip("*").strip()
            out.append(f"* {title}" if title else "*")
        replaced: dict[int, str] = {}
        children = self.children.setdefault(dest, [])
        for line in logical:
            where = f"{source}:{line.number}"
            if line.word[:1] in ELEMENT_LETTERS:
                self.elements += 1
            if not self.trusted and (line.word == ".model" or line.word.startswith("a")):
                self._data_files(line, where)
            inc = _include_of(line)
            if inc is not None:
                rewritten = self._follow(inc, where, dest, origin_dir, children)
                if rewritten is not None:
                    replaced[line.first] = rewritten
                    line = Line(line.number, rewritten, line.first, line.last)
            if self.trusted:
                continue
            if line.word == ".end":  # ngspice ignores it in an included file
                if has_title:
                    out.append(line.text)
                    break
                continue
            out.append(line.text)
        if self.trusted:
            spans = {line.first: line.last for line in logical}
            index = 0
            while index < len(lines):
                if index in replaced:
                    out.append(replaced[index])
                    index = spans[index] + 1
                    continue
                out.append(lines[index])
                index += 1
        rendered = "\n".join(out) + "\n"
        self.sizes[dest] = len(rendered.encode())
        return rendered

    def _follow(self, inc: tuple[str, str, str], where: str, includer: PurePosixPath,
                here: Path, children: list[PurePosixPath]) -> str | None:
        """Check, read and render one included file; the rewritten include line.

        Returns None for a trusted include left as written.
        """
        kind, target, section = inc
        if not target:
            raise NetlistError(f"{where}: include names no file")
        dest, origin = self._locate(target, where, here)
        if dest is None:
            return None
        children.append(dest)
        if dest not in self.files:
            if len(self.files) >= MAX_INCLUDED_FILES:
                raise NetlistError(f"{where}: more than {MAX_INCLUDED_FILES} included files")
            if self.depth >= MAX_INCLUDE_DEPTH:
                raise NetlistError(f"{where}: includes nested more than {MAX_INCLUDE_DEPTH} "
                                   f"files deep (the deck includes a file that includes a file "
                                   f"...); include the files from fewer levels")
            self.files[dest] = None  # being read: meeting it again is a cycle
            text = self.read(origin, "included file")
            self.depth += 1
            rendered = self.render(text, source=str(dest), dest=dest, origin_dir=origin.parent,
                                   has_title=False)
            self.depth -= 1
            self.files[dest] = CheckedFile(dest, rendered, origin)
        elif self.files[dest] is None:
            raise NetlistError(f"{where}: include cycle: {dest} includes itself, directly or "
                               f"through other files (ngspice would crash)")
        elif self.files[dest].origin != origin:
            raise NetlistError(f"{where}: include of {target!r} would be written to {dest}, "
                               f"where {self.files[dest].origin} goes; rename one of them")
        rel = PurePosixPath(os.path.relpath(dest.as_posix(), includer.parent.as_posix()))
        if kind == "lib":
            if re.search(r"\s", rel.as_posix()):
                raise NetlistError(f"{where}: a .lib file name may not hold blanks "
                                   f"(ngspice 39 cannot read it); rename {target!r}")
            return f'.lib "{rel.as_posix()}" {section}'
        return f'.include "{rel.as_posix()}"'

    def _locate(self, target: str, where: str, here: Path) -> tuple[PurePosixPath | None, Path]:
        """Where an include's file goes in the run folder, and the file on disk."""
        name = target.replace("\\", "/")
        absolute = name.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", name) is not None
        if name.startswith("~"):
            if self.trusted:
                return None, Path(name)
            raise NetlistError(f"{where}: include of {target!r} refused: '~' paths lie "
                               f"outside the deck's folder; copy the file into that folder")
        if '"' in name or _CONTROL_CHAR.search(name):
            raise NetlistError(f"{where}: include path {target!r} holds a quote or control "
                               f"character; refused")
        if re.match(r"^[A-Za-z]:", name) and not self.trusted:
            raise NetlistError(f"{where}: include of absolute path refused: {target!r} is a "
                               f"drive path; copy the file into the deck's folder")
        origin = _resolve(here / name, where)
        roots = ((self.deck_root, PurePosixPath()), (MODEL_ROOT.resolve(), MODEL_DEST))
        for root, prefix in roots:
            if origin.is_relative_to(root):
                dest = prefix / PurePosixPath(origin.relative_to(root).as_posix())
                break
        else:
            if absolute and self.trusted:
                return None, origin
            if absolute:
                raise NetlistError(
                    f"{where}: include of absolute path refused: {target!r} lies outside the "
                    f"deck's folder and device_models/; copy the file into the deck's folder "
                    f"and name it by a relative path (or pass --allow-control for a trusted deck)")
            raise NetlistError(
                f"{where}: include of {target!r} refused: it lies outside the deck's folder "
                f"(symbolic links followed); copy the file into that folder")
        reserved = RUNNER_FILES if self.trusted else RUNNER_FILES | INIT_FILES
        if dest.name.lower() in reserved or not dest.parts:
            raise NetlistError(f"{where}: include of a file named {dest.name!r} refused: that "
                               f"name is reserved in the run folder; rename the file")
        return dest, origin

    def _data_files(self, line: Line, where: str) -> None:
        """Check and collect the files named by XSPICE parameters ending in ``file``."""
        tokens = _TOKEN.findall(line.text)
        start = 3 if line.word == ".model" else 1
        for i in range(start, len(tokens)):
            name = tokens[i].lower()
            if not name.endswith("file") or name[0] in "\"'":
                continue
            j = i + 2 if i + 1 < len(tokens) and tokens[i + 1] == "=" else i + 1
            if j >= len(tokens):
                continue
            self._data_file(tokens[j].strip("\"'"), tokens[i], where)

    def _data_file(self, value: str, param: str, where: str) -> None:
        rel = PurePosixPath(value.replace("\\", "/"))
        bad = (value.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", value)
               or ".." in rel.parts or re.search(r"[{}$`]", value) or not value)
        origin = _resolve(self.deck_root / rel, where)
        if bad or not origin.is_relative_to(self.deck_root):
            raise NetlistError(
                f"{where}: {param}={value!r} refused: an XSPICE data file must be named by a "
                f"plain relative path inside the deck's folder (no '..', '~', '{{}}' or "
                f"absolute path, symbolic links followed)")
        if origin.is_file() and rel not in self.data_files:
            if rel.name.lower() in RUNNER_FILES | INIT_FILES:
                raise NetlistError(f"{where}: data file named {rel.name!r} refused: that "
                                   f"name is reserved in the run folder; rename the file")
            self.budget -= min(origin.stat().st_size, self.budget + 1)
            if self.budget < 0:
                raise NetlistError(f"{where}: data file {value!r}: the deck and its files "
                                   f"hold more than {MAX_DECK_BYTES} bytes")
            self.data_files[rel] = origin

    def expanded_bytes(self, dest: PurePosixPath, memo: dict[PurePosixPath, int] | None = None
                       ) -> int:
        """Bytes ngspice assembles for ``dest``: its own text plus, for every include
        line, the expanded size of the file it names (include cycles were refused)."""
        memo = {} if memo is None else memo
        if dest not in memo:
            memo[dest] = self.sizes.get(dest, 0) + sum(
                self.expanded_bytes(child, memo) for child in self.children.get(dest, ()))
        return memo[dest]


def _resolve(path: Path, where: str) -> Path:
    """``path`` with symbolic links followed; a loop or unreadable link is refused."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        raise NetlistError(f"{where}: cannot follow the symbolic links of {path}") from None


def load_user_deck(path: Path, *, allow_control: bool = False) -> UserDeck:
    """Read a user's deck and every file it includes, checking each.

    Raises:
        NetlistError: unreadable or oversized file, refused line, refused
            include or data-file path, includes nested too deep or expanding
            to too much text, two files that would share a place in the run
            folder (:func:`check_layout`), or a deck with no element.
    """
    path = Path(path)
    source = str(path)
    reader = _Reader(deck_root=path.parent.resolve(), trusted=allow_control)
    text = reader.read(path, "netlist")
    if not text.strip():
        raise NetlistError(f"{source}: the deck is empty")
    deck_dest = PurePosixPath("deck.cir")
    checked = reader.render(text, source=source, dest=deck_dest,
                            origin_dir=path.parent.resolve(), has_title=True)
    if reader.elements == 0:
        raise NetlistError(f"{source}: the deck has no circuit elements (line 1 is its title, "
                           f"not part of the circuit)")
    expanded = reader.expanded_bytes(deck_dest)
    if expanded > MAX_EXPANDED_BYTES:
        raise NetlistError(
            f"{source}: with its includes expanded the deck is {format_bytes(expanded)} of "
            f"text, more than the {format_bytes(MAX_EXPANDED_BYTES)} allowed (ngspice reads "
            f"an included file again at every include line); include each file fewer times")
    files = tuple(f for f in reader.files.values() if f is not None)
    deck = UserDeck(text=text, checked=checked, source=source, folder=path.parent,
                    files=files, data_files=tuple(reader.data_files.items()),
                    trusted=allow_control)
    check_layout(deck)
    return deck


def check_layout(deck: UserDeck) -> None:
    """Refuse a deck whose copied files would share a place in the run folder.

    Every file written into the run folder (the runner's own ``deck.cir``,
    ``out.raw`` and ``ngspice.log``, each checked included file, each XSPICE
    data file) needs a path of its own: no two may be equal, and none may be
    the folder of another (``device_models`` as a file beside
    ``device_models/opamp.lib``). Names are compared ignoring case, as a
    case-insensitive file system would. A data file may not lie under
    ``device_models/``, where the project's model files are written.

    Raises:
        NetlistError: one line naming both files and the shared path.
    """
    entries = [(PurePosixPath(name), "the runner's own file") for name in sorted(RUNNER_FILES)]
    entries += [(f.dest, f"included file {f.origin}") for f in deck.files]
    entries += [(rel, f"data file {rel.as_posix()!r}") for rel, _ in deck.data_files]
    seen: dict[tuple[str, ...], tuple[PurePosixPath, str]] = {}
    for dest, what in entries:
        key = tuple(part.casefold() for part in dest.parts)
        if what.startswith("data file") and key[:1] == (MODEL_DEST.name.casefold(),):
            raise NetlistError(
                f"{deck.source}: {what} refused: it would be written under {MODEL_DEST}/ in "
                f"the run folder, where the project's model files go; move it to another "
                f"folder beside the deck")
        clash = seen.get(key) or next((seen[key[:n]] for n in range(1, len(key))
                                       if key[:n] in seen), None)
        if clash is None:
            clash = next((v for k, v in seen.items() if k[:len(key)] == key), None)
        if clash is not None:
            other, other_what = clash
            raise NetlistError(
                f"{deck.source}: deck layout conflict: {what} and {other_what} would be written "
                f"to {dest.as_posix()} and {other.as_posix()} in the run folder, one on or "
                f"inside the other; rename one of them")
        seen[key] = (dest, what)


def copy_includes(deck: UserDeck, workdir: Path) -> list[Path]:
    """Write the deck's data files and checked included files into ``workdir``.

    Data files are written first and the checked files last; every file is
    created new (an existing file or link is never written through), and
    after all copies each checked file is read back and compared with the
    checked text, byte for byte, so ngspice reads exactly what was checked.

    Raises:
        NetlistError: ``workdir`` already holds a start-up file ngspice would
            run, the deck's files would share a place (:func:`check_layout`),
            a destination exists already, a data file is no longer a regular
            file within the size allowed, or a copy differs from the checked text.

    Returns:
        the written files, under ``workdir``.
    """
    workdir = Path(workdir)
    for name in INIT_FILES:
        if (workdir / name).exists() and not deck.trusted:
            raise NetlistError(f"run folder {workdir} holds {name}, which ngspice would run "
                               f"at start-up; use a fresh run folder")
    check_layout(deck)
    written = []
    for rel, origin in deck.data_files:
        blob = read_regular(origin, "data file", MAX_DECK_BYTES, error=NetlistError)
        written.append(_write_new(workdir, rel, blob))
    for file in deck.files:
        written.append(_write_new(workdir, file.dest, file.text.encode()))
    for file in deck.files:
        if _sha256_of(workdir / file.dest) != hashlib.sha256(file.text.encode()).digest():
            raise NetlistError(f"the copy of {file.dest} in {workdir} is not the checked text; "
                               f"refusing to run it")
    return written


def _write_new(workdir: Path, rel: PurePosixPath, data: bytes) -> Path:
    """Create ``workdir/rel`` (never through an existing file or link) holding ``data``."""
    dest = workdir / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | \
        getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(dest, flags, 0o644)
    except FileExistsError:
        raise NetlistError(f"{dest} exists already; two of the deck's files would be written "
                           f"there, or the run folder is not fresh") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return dest


def _sha256_of(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        return hashlib.sha256(handle.read()).digest()
