"""The course's languages: the catalogs are complete and correct, and the texts reach students.

The catalogs' check (autograder/catalog.py) fails on a message id the code uses with no
Russian translation, a fuzzy or empty translation, and placeholders that differ between
msgid and msgstr; the tests below also show that it does (a new message, a fuzzy one, a
wrong placeholder). autograder/i18n.py reads the .po files itself; Babel reads them too,
and the two must agree.
"""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po as babel_read_po

from autograder import catalog, i18n, release, stubs
from autograder.compare import compare
from autograder.i18n import Catalog, language, localize_causes, read_po
from autograder.topics import ROOT, TOPICS

import torch

RU = i18n.LOCALE / "ru" / "LC_MESSAGES"


# ----------------------------------------------------------------------------- the catalogs

def test_every_message_the_code_and_the_course_data_use_has_a_russian_translation():
    found = catalog.problems("ru", "autograder")
    assert not found, "run `python -m autograder.catalog update`, then translate:\n" + "\n".join(found)


def test_module_docstrings_and_the_fully_translated_topics_have_russian_texts():
    found = catalog.problems("ru", "assignments")
    assert not found, "\n".join(found)


def test_the_extraction_finds_code_messages_mistakes_causes_and_titles():
    wanted = catalog.messages("autograder")
    ids = {m.msgid for m in wanted.values()}
    assert "{name} differs from the expected value." in ids                          # compare.py
    assert "Your code did not finish within {seconds:.0f} s on this check (an endless loop, " \
           "or a very slow Python loop over elements?)." in ids                           # grader.py
    assert any(i.startswith("running_var was updated with the biased variance") for i in ids)  # bank
    assert any(i.startswith("p was used as the probability of KEEPING") for i in ids)   # judge's cause
    assert i18n.CAUSE_LABEL in ids                                                        # N_() in i18n.py
    sources = {s for m in wanted.values() for s in m.sources}
    assert {"kit/coursecheck/runner.py", "autograder/report.py"} <= sources


def _catalog_dir(tmp_path: Path, entries: str) -> Path:
    path = catalog.po_path("ru", "autograder", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(catalog.format_po([], "ru", "test") + entries, encoding="utf-8")
    return tmp_path


def test_a_new_message_without_a_translation_fails_the_check(tmp_path):
    """The proof that the catalog test can fail: a temporary msgid that no catalog has."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "new.py").write_text('from autograder.i18n import _\n'
                                 'print(_("A message added today, {count} of it."))\n')
    wanted = catalog.code_messages_in(code)
    found = catalog.problems("ru", "autograder", locale=i18n.LOCALE, wanted=wanted)
    assert [p for p in found if not p.startswith("not used by the code")] == \
        ["no ru translation: 'A message added today, {count} of it.' (new.py)"]
    # and the same through the repository's own extraction: a message in autograder/
    probe = ROOT / "autograder" / "_i18n_probe_test.py"
    probe.write_text('from .i18n import _\nPROBE = _("A temporary message with no translation.")\n')
    try:
        found = catalog.problems("ru", "autograder", wanted=catalog.code_messages())
    finally:
        probe.unlink()
    assert any("A temporary message with no translation." in p for p in found)


def test_fuzzy_empty_and_mismatched_placeholders_fail_the_check(tmp_path):
    locale = _catalog_dir(tmp_path, '\n#, fuzzy\nmsgid "Fuzzy {n}."\nmsgstr "Нечётко {n}."\n'
                                    '\nmsgid "Empty."\nmsgstr ""\n'
                                    '\nmsgid "Moved {name} and {count:.1f}."\n'
                                    'msgstr "Переставлено {count:.1f} и {name}."\n'
                                    '\nmsgid "Lost {name}."\nmsgstr "Потеряно {nam}."\n'
                                    '\nmsgid "Spec {x:.1f}."\nmsgstr "Формат {x}."\n'
                                    '\nmsgid "Nobody uses this."\nmsgstr "Никто."\n')
    wanted = {}
    for text in ("Fuzzy {n}.", "Empty.", "Moved {name} and {count:.1f}.", "Lost {name}.", "Spec {x:.1f}."):
        catalog._add(wanted, text, "x.py")
    found = catalog.problems("ru", "autograder", locale=locale, wanted=wanted)
    assert any(p.startswith("fuzzy translation: 'Fuzzy {n}.'") for p in found)
    assert any(p.startswith("no ru translation: 'Empty.'") for p in found)
    assert any(p.startswith("placeholders differ: 'Lost {name}.'") for p in found)
    assert any(p.startswith("placeholders differ: 'Spec {x:.1f}.'") for p in found)
    assert any(p.startswith("not used by the code any more: 'Nobody uses this.'") for p in found)
    assert not any("Moved" in p for p in found)           # a translator may move placeholders
    assert len(found) == 5


def test_a_marker_with_a_computed_argument_is_an_error(tmp_path):
    (tmp_path / "bad.py").write_text('from autograder.i18n import _\nx = "a"\nprint(_(x))\n')
    with pytest.raises(ValueError, match=r"bad.py:3: _\(\) needs literal strings"):
        catalog.code_messages_in(tmp_path)


@pytest.mark.parametrize("domain", catalog.DOMAINS)
def test_our_po_reader_agrees_with_babel(domain):
    path = RU / f"{domain}.po"
    ours = {e.key: e for e in read_po(path.read_text(encoding="utf-8")) if e.msgid}
    with open(path, "rb") as fh:
        theirs = babel_read_po(fh, abort_invalid=True)
    assert theirs.plural_forms == i18n.header(read_po(path.read_text(encoding="utf-8")))[
        "Plural-Forms"].rstrip(";") + ";"
    babel_entries = {}
    for m in theirs:
        if not m.id:
            continue
        msgid = m.id[0] if isinstance(m.id, tuple) else m.id
        strings = list(m.string) if isinstance(m.string, tuple) else [m.string]
        babel_entries[(m.context, msgid)] = (strings, m.fuzzy)
    assert set(ours) == set(babel_entries)
    for key, e in ours.items():
        assert (e.msgstr, e.fuzzy) == babel_entries[key], key


def test_the_reader_handles_escapes_contexts_plurals_and_ignores_fuzzy_and_obsolete(tmp_path):
    text = catalog.format_po([], "ru", "test") + (
        '\nmsgctxt "ctx"\nmsgid "A \\"quoted\\"\\n"\n"line\\tend"\nmsgstr "Б \\"в кавычках\\"\\n"\n"строка"\n'
        '\nmsgid "{n} file"\nmsgid_plural "{n} files"\nmsgstr[0] "{n} файл"\nmsgstr[1] "{n} файла"\n'
        'msgstr[2] "{n} файлов"\n'
        '\n#, fuzzy\nmsgid "Guess"\nmsgstr "Догадка"\n'
        '\n#~ msgid "Old"\n#~ msgstr "Старое"\n')
    books = Catalog.from_po(text)
    assert books.pgettext("ctx", 'A "quoted"\nline\tend') == 'Б "в кавычках"\nстрока'
    assert books.gettext('A "quoted"\nline\tend') == 'A "quoted"\nline\tend'      # other context
    assert [books.ngettext("{n} file", "{n} files", n).format(n=n) for n in (1, 3, 5, 21, 11, 112)] == \
        ["1 файл", "3 файла", "5 файлов", "21 файл", "11 файлов", "112 файлов"]
    assert books.gettext("Guess") == "Guess" and books.gettext("Old") == "Old"
    written = catalog.format_po(read_po(text)[1:], "ru", "again")
    assert {e.key: e.msgstr for e in read_po(written) if e.msgid} == {e.key: e.msgstr for e in read_po(text)
                                                          if e.msgid}


def test_the_runtime_needs_no_babel():
    """The grader's Gradescope image and the student's checker have the standard library only."""
    code = ("import sys; sys.modules['babel'] = None\n"
            "from autograder import i18n\n"
            "i18n.set_language('ru')\n"
            "print(i18n._('Public checks on your code:'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "Открытые проверки вашего кода:"


# ----------------------------------------------------------------------------- at run time

def test_english_is_the_default_and_messages_are_unchanged_in_it():
    assert i18n.current() == "en"
    got = compare("running_var", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 3.0]))
    assert got.message.startswith("running_var differs from the expected value.\n"
                                  "Mismatched elements: 1 / 2 (50.0%); greatest difference at index (1,)")


def test_a_comparison_in_russian_keeps_its_numbers():
    with language("ru"):
        got = compare("running_var", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 3.0]))
        shape = compare("out", torch.zeros(2, 3), torch.zeros(3, 2))
    assert i18n.current() == "en"
    assert got.message == (
        "running_var отличается от ожидаемого значения.\n"
        "Несовпадающих элементов: 1 / 2 (50.0%); наибольшее расхождение в позиции (1,): получено 2, "
        "ожидалось 3 (абсолютное 1, относительное 0.333; допуск 1e-05 + 1e-05 * |ожидаемое|).")
    assert shape.message == "У out форма (2, 3); ожидалась (3, 2)."


def test_likely_causes_are_shown_in_the_language_and_stay_english_in_the_data():
    message = ("running_var differs from the expected value.\nLikely cause: running_var was updated "
               "with the biased variance; PyTorch stores the unbiased one (multiply the batch "
               "variance by n / (n - 1) before the update).")
    assert localize_causes(message) == message                         # English: as it is
    shown = localize_causes(message, "ru")
    assert "\nВероятная причина: running_var обновлялась смещённой дисперсией" in shown
    unknown = localize_causes("x\nLikely cause: something no catalog knows.", "ru")
    assert unknown == "x\nВероятная причина: something no catalog knows."


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="unknown language 'de'"):
        i18n.set_language("de")


# ----------------------------------------------------------------------------- the Russian kit

def test_a_russian_stub_has_russian_docstrings_and_the_same_code():
    topic = TOPICS["normalization"]
    english = stubs.make_stub(topic.solution_path().read_text(encoding="utf-8"), topic.filename)
    russian, missing = release.localized_docstrings(english, f"{topic.folder}/{topic.filename}", "ru")
    assert missing == []
    docs = dict(catalog.docstrings(russian))
    assert docs["batch_norm"].value.startswith("Батч-нормализация, в точности как")
    assert "скользящие статистики" in docs[""].value or "скользящие" in russian
    strip = lambda text: ast.dump(_without_docstrings(ast.parse(text)))      # noqa: E731
    assert strip(russian) == strip(english)
    assert 'raise NotImplementedError("Task 3.1: batch_norm in normalization.py")' in russian
    compile(russian, topic.filename, "exec")


def _without_docstrings(tree):
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            body[0] = ast.Pass()
    return tree


def test_a_russian_notebook_has_russian_prose_and_the_same_code_cells():
    path = TOPICS["dropout"].assignment_dir() / "dropout.ipynb"
    text = path.read_text(encoding="utf-8")
    russian, missing = release.localized_notebook(text, "04_dropout/dropout.ipynb", "ru")
    assert missing == []
    before, after = json.loads(text), json.loads(russian)
    assert [c["source"] for c in before["cells"] if c["cell_type"] == "code"] == \
        [c["source"] for c in after["cells"] if c["cell_type"] == "code"]
    assert "".join(after["cells"][0]["source"]).startswith("# Тема 4: дропаут")


def test_the_english_kit_is_unchanged_by_the_catalogs():
    topic = TOPICS["dropout"]
    english = stubs.make_stub(topic.solution_path().read_text(encoding="utf-8"), topic.filename)
    assert release.localized_docstrings(english, f"{topic.folder}/{topic.filename}", "en")[0] == english


# ----------------------------------------------------------------------------- end to end

@pytest.mark.slow
def test_grade_in_russian_writes_russian_feedback_for_bob(tmp_path):
    out = tmp_path / "grades"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade",
                           str(ROOT / "examples" / "submissions" / "bob"), "--out", str(out),
                           "--topic", "normalization", "--device", "cpu", "--lang", "ru", "--quiet"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    text = (out / "bob" / "feedback.txt").read_text(encoding="utf-8")
    assert re.match(r"Отзыв для bob: \d+ / \d+ балл(а|ов)? \(\d+\.\d%\)\nУстройства: cpu\n"
                    r"Базовый seed \d+: с ним можно воспроизвести любой случай ниже\.", text), text[:300]
    assert "Вероятная причина: running_var обновлялась смещённой дисперсией" in text
    assert "running_var отличается от ожидаемого значения." in text
    assert "Likely cause" not in text and "differs from the expected value" not in text
    data = json.loads((out / "bob" / "results.json").read_text(encoding="utf-8"))
    assert any("Вероятная причина" in t["output"] for t in data["tests"])
    # the data keeps the English marker that the audit and the class report read
    assert any("Likely cause: running_var was updated" in o["message"]
               for o in data["extra_data"]["outcomes"])


@pytest.mark.slow
def test_check_in_russian_says_what_differs_and_the_command_that_runs_it_alone(tmp_path):
    import shutil
    shutil.copytree(ROOT / "assignments", tmp_path / "assignments")
    shutil.copy(ROOT / "examples" / "submissions" / "bob" / "normalization.py",
                tmp_path / "assignments" / "03_normalization" / "normalization.py")
    proc = subprocess.run([sys.executable, "-m", "autograder", "check", "normalization", "--root",
                           str(tmp_path), "--device", "cpu", "--lang", "ru"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Открытые проверки вашего кода:")
    assert "running_var отличается от ожидаемого значения." in proc.stdout
    assert "Запустить отдельно: python -m autograder check normalization --only" in proc.stdout
    unknown = subprocess.run([sys.executable, "-m", "autograder", "check", "normalization", "--root",
                              str(tmp_path), "--lang", "ru", "--only", "no_such_check"],
                             capture_output=True, text=True, cwd=ROOT)
    assert unknown.returncode == 2 and "Нет открытой проверки no_such_check" in unknown.stderr


def test_a_command_s_language_does_not_outlive_it(tmp_path, monkeypatch):
    from autograder import cli
    seen = []
    monkeypatch.setattr(cli, "cmd_check", lambda args: seen.append(
        (i18n.set_language(args.lang), i18n.current())) or 0)
    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with_check(parser(), cli))
    assert cli.main(["check", "normalization", "--lang", "ru"]) == 0
    assert seen == [("en", "ru")] and i18n.current() == "en"


def _with_check(parser, cli):
    for action in parser._subparsers._group_actions:
        action.choices["check"].set_defaults(func=cli.cmd_check)
    return parser
