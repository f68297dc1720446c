"""The class report (autograder/class_report.py), read as an instructor reads it: in a browser.

Three bundled examples are graded (normalization, CPU: bob's biased running_var,
carol's zip, erin's syntax error) and OUT/report.html is opened in headless Chromium
(tests/browser.py, the DevTools protocol over a pipe). The page must raise no console
error and fetch nothing but itself; the screenshot must show the total's histogram
where its SVG is; printed, it must be black on white with a page break before each
student. The console watch itself is shown to catch an injected error. The
screenshot, the printed PDF and the page are kept in test-artifacts/.
Chromium missing is a failure that says how to install it, never a skip.
"""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from autograder.batch import grade_batch, merge
from autograder.class_report import BAR, check_rates, histogram, load, mistakes, write_report
from autograder.config import Config
from autograder.topics import ROOT

from browser import INSTALL, Chromium, find_chromium

pytestmark = pytest.mark.slow

EXAMPLES = ROOT / "examples" / "submissions"
ARTIFACTS = ROOT / "test-artifacts"
PICKED = ("bob", "carol.zip", "erin")
NAMES = ["bob", "carol", "erin"]


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("class-report") / "out"
    graded = grade_batch([EXAMPLES / p for p in PICKED], out,
                         Config(devices=("cpu",), topics=("normalization",)), regrade=True)
    assert sorted(g.name for g in graded) == NAMES
    return out


@pytest.fixture(scope="module")
def browser():
    with Chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def shown(out, browser):
    """The report on a 1280x1600 screen: the page (errors, requests), the total histogram's
    box and the screenshot, also kept as test-artifacts/class-report.png."""
    page = browser.open((out / "report.html").as_uri(), width=1280, height=1600)
    box = page.evaluate("JSON.stringify(document.getElementById('hist-total').getBoundingClientRect())")
    bars = page.evaluate("Array.from(document.querySelectorAll('#hist-total rect'))"
                         ".reduce((a, r) => a + r.width.baseVal.value * r.height.baseVal.value, 0)")
    png = page.screenshot()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "class-report.png").write_bytes(png)
    shutil.copy(out / "report.html", ARTIFACTS / "class-report.html")
    page.close()
    return page, json.loads(box), bars, png


def html(out: Path) -> str:
    return (out / "report.html").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- the file

def test_grade_writes_one_self_contained_report_without_scripts_or_outside_resources(out):
    text = html(out)
    assert text.startswith("<!DOCTYPE html>")
    for absent in ("<script", "<link", "src=", "http://", "https://", "@import", "url("):
        assert absent not in text, absent
    assert "default-src 'none'" in text                  # and the page's policy forbids them


def test_every_submission_has_a_section_with_its_feedback_linked_from_the_table(out):
    text = html(out)
    for name in NAMES:
        assert f'href="#sub-{name}"' in text and f'id="sub-{name}"' in text
        first_line = (out / name / "feedback.txt").read_text().splitlines()[0]
        assert first_line in text                             # no character here needs escaping
    assert "syntax error" in text                             # erin's feedback


def test_checks_are_sorted_by_pass_rate_worst_first_and_named_by_their_id(out):
    rates = check_rates(load(out, NAMES))
    assert [r.rate for r in rates] == sorted(r.rate for r in rates)
    assert rates[0].rate < 1 and all(r.graded == 3 for r in rates)
    text = html(out)
    assert text.index(rates[0].check_id) < text.index(rates[-1].check_id)


def test_named_mistakes_are_counted_with_the_submissions_that_made_them(out):
    named = {m.cause: m for m in mistakes(load(out, NAMES))}
    biased = next(m for c, m in named.items() if c.startswith("running_var was updated with the biased"))
    assert "bob" in biased.submissions
    bob = json.loads((out / "bob" / "results.json").read_text())["extra_data"]["outcomes"]
    assert biased.cases >= sum(biased.cause in o["message"] for o in bob) > 0
    assert biased.cause in html(out)


def test_histogram_bins_are_tenths_with_full_marks_apart():
    assert histogram([0, 9.99, 10, 59, 99.99, 100, 100]) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 1, 2]


def test_merge_writes_the_same_report_for_the_merged_folder(out, tmp_path):
    for shard, names in (("a", ["bob"]), ("b", ["carol", "erin"])):
        for name in names:
            shutil.copytree(out / name, tmp_path / shard / name)
    merge([tmp_path / "a", tmp_path / "b"], tmp_path / "merged")
    assert html(tmp_path / "merged") == html(out)


# ----------------------------------------------------------------------------- in Chromium

def test_the_report_opens_with_no_console_error_and_loads_nothing_but_itself(out, shown):
    page, _, _, _ = shown
    assert page.errors == []
    assert page.requests == [(out / "report.html").as_uri()]


def test_the_screenshot_shows_the_total_histogram_where_its_svg_is(shown):
    import numpy as np
    from PIL import Image
    _, box, bars, png = shown
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    assert pixels.shape == (1600, 1280, 3) and 0 < box["top"] and box["bottom"] < 1600
    bar = np.array([int(BAR[i:i + 2], 16) for i in (1, 3, 5)])
    is_bar = np.abs(pixels - bar).max(axis=2) < 12
    top, bottom, left, right = (int(box[k]) for k in ("top", "bottom", "left", "right"))
    coloured = int(is_bar[top:bottom, left:right].sum())
    assert bars > 0 and 0.9 * bars <= coloured <= 1.1 * bars + 20, (coloured, bars)
    assert not is_bar[:top].any()                       # above it: the title and the summary


def test_printed_it_is_black_on_white_with_a_page_break_before_each_student(out, browser):
    page = browser.open((out / "report.html").as_uri(), media="print")
    style = "getComputedStyle(document.querySelector('%s')).%s"
    assert page.evaluate(style % ("body", "backgroundColor")) == "rgb(255, 255, 255)"
    assert page.evaluate(style % ("body", "color")) == "rgb(0, 0, 0)"
    assert page.evaluate(style % ("nav", "display")) == "none"
    breaks = page.evaluate("Array.from(document.querySelectorAll('.student'), "
                           "s => getComputedStyle(s).breakBefore)")
    assert breaks == ["page"] * len(NAMES)
    (ARTIFACTS / "class-report-printed.pdf").write_bytes(page.pdf())
    assert page.errors == []
    page.close()


def test_student_text_is_shown_as_text_never_run(tmp_path, browser):
    name = "<img src=x onerror=console.error(1)>"
    message = "got <script>console.error('message')</script>\nLikely cause: <b onclick=x()>bold</b>"
    outcome = {"check_id": "normalization/batch_norm_train_2d", "device": "cpu", "topic": "normalization",
               "title": "<i>title</i>", "status": "failed", "points": 0.0, "max_points": 2.0,
               "message": message, "detail": "", "public": False, "seed": 1}
    (tmp_path / name).mkdir()
    (tmp_path / name / "results.json").write_text(json.dumps(
        {"score": 0, "execution_time": 1.0, "extra_data": {"outcomes": [outcome], "notes": ["<u>n</u>"]}}))
    (tmp_path / name / "feedback.txt").write_text("</pre><script>console.error('feedback')</script>")
    write_report(tmp_path, [name])
    page = browser.open((tmp_path / "report.html").as_uri())
    assert page.errors == []                # a script let through would be run, or refused: an error
    assert page.evaluate("document.querySelectorAll('script, img, b, u, :not(.meter) > i').length") == 0
    text = page.evaluate("document.body.innerText")
    for shown_as_text in (name, "<script>console.error('feedback')</script>", "<b onclick=x()>bold</b>",
                          "<i>title</i>", "<u>n</u>"):
        assert shown_as_text in text
    page.close()


@pytest.mark.parametrize("inject, policy, expected", [
    ("<script>console.error('x')</script>", False, "console.error: x"),
    ("<script>let broken = (;</script>", False, "SyntaxError"),
    ("<script>console.error('x')</script>", True, "Content Security Policy"),
], ids=["console-error", "broken-script", "refused-by-the-page-policy"])
def test_the_console_watch_catches_an_injected_error(out, tmp_path, browser, inject, policy, expected):
    """The control: the same report with a script slipped in is NOT clean to the watch (with the
    page's policy removed the script runs; with it, the refusal is itself an error)."""
    text = html(out)
    if not policy:
        start = text.index('<meta http-equiv="Content-Security-Policy"')
        text = text[:start] + text[text.index(">", start) + 1:]
    (tmp_path / "injected.html").write_text(text.replace('<body id="top">', '<body id="top">' + inject))
    page = browser.open((tmp_path / "injected.html").as_uri())
    assert any(expected in e for e in page.errors), page.errors
    page.close()


def test_without_chromium_the_test_fails_and_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.delenv("CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception) as failed:
        find_chromium()
    assert "apt-get install -y chromium" in str(failed.value) and str(failed.value) == INSTALL
