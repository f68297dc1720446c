"""Folder, .zip or notebooks in; the student's source files out.

A submission may be a folder with its files flat, the `assignments/` tree (or
any tree: files are found by name), a .zip of either, or .ipynb notebooks whose
code cells make the module. Problems (a corrupted zip, a file under the wrong
name, a notebook that is not JSON) become plain sentences in `problems`;
loading never raises for bad student input.

A symbolic link is never followed, at any depth: a link in a folder, a folder
or file given that is itself a link, a link among a folder of submissions, a
link stored in a zip. It is reported, never read: a link into `solutions/`
must not earn the reference's marks.
"""
from __future__ import annotations

import difflib
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath

from .i18n import _
from . import notebook
from .topics import TOPICS

MAX_FILE_BYTES = 2 << 20           # one source file or notebook
MAX_ZIP_TOTAL = 64 << 20           # all members of a zip, uncompressed
MAX_ZIP_MEMBERS = 2000
MAX_DEPTH = 6
MAX_LINKS_REPORTED = 20            # one sentence each; the rest are counted
SUFFIXES = (".zip", ".ipynb", ".py")                 # what a single-file submission may be
TOPIC_FOLDER = re.compile(r"^\d\d_\w+$")             # 03_normalization


@dataclass
class Submission:
    name: str                                     # "alice" (folder or zip name)
    files: dict[str, str] = field(default_factory=dict)   # "normalization.py" -> source
    problems: list[str] = field(default_factory=list)
    origin: str = ""


def expected_names() -> dict[str, str]:
    """File name -> module, for every topic: normalization.py, normalization.ipynb, ..."""
    names = {}
    for topic in TOPICS.values():
        names[topic.filename] = topic.filename
        names[f"{topic.module}.ipynb"] = topic.filename
    return names


# ----------------------------------------------------------------------------- discovery

def looks_like_submission(path: Path) -> bool:
    """A file or a link (one submission, graded or reported whole), or a folder that holds
    course files itself, by name, as files, folders or links (not a folder of submissions)."""
    if path.is_symlink() or not path.is_dir():
        return True
    wanted = expected_names()
    for child, mode in _walk(path, depth=0):
        if child.name in wanted or child.name == "assignments" or (
                (stat.S_ISDIR(mode) or stat.S_ISLNK(mode)) and TOPIC_FOLDER.match(child.name)):
            return True
    return False


def discover(paths: list[Path]) -> list[Path]:
    """Expand each argument: a submission, or a folder of submissions. A link among a
    folder of submissions stays one entry of its own, for `load` to report."""
    found = []
    for path in paths:
        if looks_like_submission(path):
            found.append(path)
            continue
        found.extend(child for child, mode in _walk(path, depth=0)
                     if stat.S_ISLNK(mode) or stat.S_ISDIR(mode) or child.suffix in SUFFIXES)
    return found


def load(path: Path) -> Submission:
    """One submission; never raises for bad student input. A link is reported, not read."""
    sub = Submission(name=_name(path), origin=str(path))
    try:
        if path.is_symlink():
            sub.problems.append(_not_graded(path.name))
        elif not path.exists():
            sub.problems.append(_("{path} does not exist.").format(path=path))
        elif path.is_dir():
            _from_folder(sub, path)
        elif path.suffix == ".zip":
            _from_zip(sub, path)
        elif path.suffix in (".ipynb", ".py"):
            _from_entries(sub, [(path.name, partial(_read, path))])
        else:
            sub.problems.append(_("{name}: expected a folder, a .zip, a .py or an .ipynb file.").format(
                name=path.name))
    except OSError as exc:
        sub.problems.append(_("The submission could not be read: {error}.").format(error=exc))
    if not sub.files and not sub.problems:
        sub.problems.append(_nothing_found_message(sub))
    return sub


def _name(path: Path) -> str:
    """alice for alice/, alice.zip or alice.ipynb; a link is named without following it."""
    if path.is_symlink():
        return path.stem if path.suffix in SUFFIXES else path.name
    return path.stem if path.is_file() else path.name


def _walk(root: Path, depth: int = MAX_DEPTH):
    """(path, lstat mode) of each entry under root, hidden ones aside, a folder before
    what it holds. Nothing is followed: a link is yielded as itself, never entered."""
    if depth < 0:
        return
    try:
        children = sorted(root.iterdir())
    except OSError:
        return
    for child in children:
        if child.name.startswith(".") or child.name == "__pycache__":
            continue
        try:
            mode = child.lstat().st_mode
        except OSError:
            continue
        yield child, mode
        if stat.S_ISDIR(mode):
            yield from _walk(child, depth - 1)


def _from_folder(sub: Submission, root: Path) -> None:
    entries, links = [], []
    for path, mode in _walk(root):
        rel = path.relative_to(root).as_posix()
        if stat.S_ISLNK(mode):
            links.append(rel)
        elif stat.S_ISREG(mode):
            entries.append((rel, partial(_read, path)))
    sub.problems.extend(_not_graded(rel) for rel in links[:MAX_LINKS_REPORTED])
    if len(links) > MAX_LINKS_REPORTED:
        sub.problems.append(_("{n} more symbolic links were not graded.").format(
            n=len(links) - MAX_LINKS_REPORTED))
    _from_entries(sub, entries)
    if not any(root.iterdir()):
        sub.problems.append(_("The submission folder is empty."))
    elif links and not sub.files:
        sub.problems.append(_nothing_found_message(sub))


def _read(path: Path) -> bytes:
    """At most MAX_FILE_BYTES + 1 bytes of a regular file. O_NOFOLLOW refuses a link
    even if one took the file's place after the folder was walked."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with open(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path.name} is not a regular file")
        return fh.read(MAX_FILE_BYTES + 1)


def _from_zip(sub: Submission, path: Path) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        sub.problems.append(_("{name} is not a readable zip file ({error}).").format(name=path.name, error=exc))
        return
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            sub.problems.append(_("{name} has {n} entries; at most {most} are read.").format(
                name=path.name, n=len(members), most=MAX_ZIP_MEMBERS))
            members = members[:MAX_ZIP_MEMBERS]
        total, entries = 0, []
        for info in members:
            member = PurePosixPath(info.filename)
            if info.is_dir() or member.name.startswith(".") or "__MACOSX" in member.parts:
                continue
            if member.is_absolute() or ".." in member.parts:
                sub.problems.append(_("Skipped {name}: paths outside the archive are not allowed.").format(
                    name=info.filename))
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                sub.problems.append(_("Skipped {name}: symbolic links are not read.").format(name=info.filename))
                continue
            if member.name not in expected_names() and member.suffix not in (".py", ".ipynb"):
                continue
            total += info.file_size
            if info.file_size > MAX_FILE_BYTES or total > MAX_ZIP_TOTAL:
                sub.problems.append(_("Skipped {name}: {size} bytes is too large.").format(
                    name=info.filename, size=info.file_size))
                continue

            def read(info=info):
                with archive.open(info) as fh:
                    return fh.read(MAX_FILE_BYTES + 1)
            entries.append((info.filename, read))
        try:
            _from_entries(sub, entries)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
            sub.problems.append(_("{name} is damaged and could not be read completely ({error}).").format(
                name=path.name, error=exc))


def _from_entries(sub: Submission, entries) -> None:
    """Pick the course files out of (relative path, reader) pairs; the shallowest wins."""
    wanted = expected_names()
    chosen: dict[str, tuple[int, str, object]] = {}
    others = []
    for rel, reader in entries:
        parts = PurePosixPath(rel.replace("\\", "/")).parts
        name = parts[-1]
        if name not in wanted:
            if name.endswith((".py", ".ipynb")):
                others.append(name)
            continue
        rank = (len(parts), 0 if name.endswith(".py") else 1)
        if name in chosen and chosen[name][0] <= rank:
            continue
        chosen[name] = (rank, rel, reader)
    for name, (_rank, rel, reader) in sorted(chosen.items()):
        module = wanted[name]
        if module in sub.files and name.endswith(".ipynb"):
            continue                       # the .py file wins over a notebook of the same topic
        data = reader()
        if len(data) > MAX_FILE_BYTES:
            sub.problems.append(_("{path} is larger than {mib} MiB; it was not graded.").format(
                path=rel, mib=MAX_FILE_BYTES >> 20))
            continue
        text = _decode(sub, rel, data)
        if text is None:
            continue
        if name.endswith(".ipynb"):
            text = notebook_source(sub, rel, text)
            if text is None:
                continue
        sub.files[module] = text
    _explain_misnamed(sub, others)


def _decode(sub: Submission, rel: str, data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        sub.problems.append(_("{path} is not UTF-8 text (byte {byte}); save it as UTF-8. It was "
                              "read with the bad bytes replaced.").format(path=rel, byte=exc.start))
        return data.decode("utf-8", errors="replace")


def notebook_source(sub: Submission, rel: str, text: str) -> str | None:
    """The notebook's code cells as one module (notebook.py); problems go to `sub`."""
    return notebook.module_source(rel, text, sub.problems)


def _explain_misnamed(sub: Submission, others: list[str]) -> None:
    present = {TOPICS_BY_FILE[f] for f in sub.files}
    for name in sorted(set(others)):
        close = difflib.get_close_matches(name.lower(), [t.filename for t in TOPICS.values()], n=1, cutoff=0.6)
        if close and TOPICS_BY_FILE[close[0]] not in present:
            sub.problems.append(_("Found {name}, but the grader looks for {wanted}: rename it "
                                  "(file names are case-sensitive).").format(name=name, wanted=close[0]))


def _nothing_found_message(sub: Submission) -> str:
    names = ", ".join(t.filename for t in TOPICS.values())
    return _("No course files were found in the submission (expected one or more of: "
             "{names}).").format(names=names)


def _not_graded(path: str) -> str:
    return _("{path} is a symbolic link; links are not graded.").format(path=path)


TOPICS_BY_FILE = {t.filename: t.name for t in TOPICS.values()}
