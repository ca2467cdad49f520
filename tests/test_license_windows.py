"""Prose that passes the keyword gate is read around its few license keywords only: the matches (ids and
character spans) must be those of reading the whole text."""
import importlib

import pytest

from conftest import LICENSE_NOTICES, LICENSE_PROSE

det = importlib.import_module("curate.license.detect")  # the module (curate.license.detect is also the function)

PROSE, NOTICES = LICENSE_PROSE, LICENSE_NOTICES


def _whole(text, monkeypatch):
    monkeypatch.setattr(det, "NOTICE_MAX_KEYWORDS", -1)  # never windowed
    try:
        return det.detect_matches(text)
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("notice", NOTICES)
@pytest.mark.parametrize("where", [0.0, 0.5, 1.0])
def test_windowed_prose_finds_what_the_whole_text_finds(notice, where, monkeypatch):
    cut = int(len(PROSE) * where)
    text = PROSE[:cut] + "\n" + notice + "\n" + PROSE[cut:]
    a = text.index(notice)
    windowed = det.detect_matches(text)
    assert windowed, notice
    assert [(m.spdx, m.start, m.end) for m in windowed] == \
        [(m.spdx, m.start, m.end) for m in _whole(text, monkeypatch)]
    assert windowed[0].start < a + len(notice) and a < windowed[0].end  # the evidence is the notice


def test_windows_are_used_for_sparse_prose(monkeypatch):
    """The narrow path really runs: the tokenizer sees only a window, not the 3.5 KB."""
    seen = []
    real = det._rules.tokenize
    monkeypatch.setattr(det._rules, "tokenize", lambda text, windows=None: seen.append(windows) or real(text, windows))
    det.detect_matches(PROSE + " Licensed under the MIT license. " + PROSE)
    assert seen and seen[0] is not None and sum(b - a for a, b in seen[0]) <= 2 * det.NOTICE_WINDOW_CHARS + 40


def test_dense_or_short_license_texts_are_read_whole(monkeypatch):
    seen = []
    real = det._rules.tokenize
    monkeypatch.setattr(det._rules, "tokenize", lambda text, windows=None: seen.append(windows) or real(text, windows))
    # many keywords (a license text in another language) -> whole text
    det.detect_matches("Lizenz " * 3 + PROSE + " Lizenz Lizenz licence licence")
    # windows would cover most of a short text -> whole text
    det.detect_matches("Copyright 1993 A. Person. You may freely use and distribute these files.")
    assert seen == [None, None]


@pytest.mark.parametrize("text", [
    "LICENSED under MIT", "Copyright © 2020", "no such words here", "Öffentliche LIZENZ", "public\nDomain",
    "本の著作権", "Tous droits réservés", "a\ud800 lone surrogate with a License", "a\ud800 lone surrogate", "",
    "Creative Commons CC BY-SA", "ГОСТ без лицензии",
])
def test_keyword_gate_is_the_lowercase_substring_test(text):
    lowered = text.lower()
    assert det._prefilter(text) == any(k in lowered for k in det._PREFILTER_KEYWORDS)
