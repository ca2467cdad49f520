"""curate.license on ScanCode's rules: SPDX lines and expressions, GPL "only" vs "or later", source headers,
WITH exceptions, expressions in the code policy, spans and rule ids, and no matches on prose that only
mentions licenses. Texts are written here (no corpora needed); no timing assertions (speed is in the bench).
"""
from __future__ import annotations

import pytest

from curate.license import LicensePolicy, canonical_spdx, detect, detect_matches
from curate.license import index as license_index
from curate.license.detect import KINDS

APACHE_HEADER = """# Copyright 2021 Example Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
import os
"""

BSD3_COMMENT = """/*
 * Copyright (c) 2019, Example Org
 * All rights reserved.
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions are met:
 *
 * 1. Redistributions of source code must retain the above copyright notice, this
 *    list of conditions and the following disclaimer.
 *
 * 2. Redistributions in binary form must reproduce the above copyright notice,
 *    this list of conditions and the following disclaimer in the documentation
 *    and/or other materials provided with the distribution.
 *
 * 3. Neither the name of the copyright holder nor the names of its
 *    contributors may be used to endorse or promote products derived from
 *    this software without specific prior written permission.
 *
 * THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
 * AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
 * IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
 * DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
 * FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
 * DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
 * SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
 * CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
 * OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
 * OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
 */
#include <stdio.h>
"""

MIT_NOTICE = "// This file is part of Foo. Released under the MIT License; see LICENSE.\nint x;\n"

CLASSPATH_HEADER = """/*
 * Copyright (c) 2003, 2013, Oracle and/or its affiliates. All rights reserved.
 * DO NOT ALTER OR REMOVE COPYRIGHT NOTICES OR THIS FILE HEADER.
 *
 * This code is free software; you can redistribute it and/or modify it
 * under the terms of the GNU General Public License version 2 only, as
 * published by the Free Software Foundation.  Oracle designates this
 * particular file as subject to the "Classpath" exception as provided
 * by Oracle in the LICENSE file that accompanied this code.
 *
 * This code is distributed in the hope that it will be useful, but WITHOUT
 * ANY WARRANTY; without even the implied warranty of MERCHANTABILITY or
 * FITNESS FOR A PARTICULAR PURPOSE.  See the GNU General Public License
 * version 2 for more details (a copy is included in the LICENSE file that
 * accompanied this code).
 */
package java.util;
"""


# ------------------------------------------------------------------------------------------------
# SPDX-License-Identifier lines
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line,expected", [
    ("// SPDX-License-Identifier: GPL-2.0+", "GPL-2.0-or-later"),  # deprecated id -> current
    ("# SPDX-License-Identifier: LGPL-2.1", "LGPL-2.1-only"),
    ("/* SPDX-License-Identifier: (MIT OR Apache-2.0) AND BSD-3-Clause */", "(MIT OR Apache-2.0) AND BSD-3-Clause"),
    ("-- SPDX-License-Identifier: GPL-2.0-or-later WITH Classpath-exception-2.0",
     "GPL-2.0-or-later WITH Classpath-exception-2.0"),
    ("<!-- SPDX-License-Identifier: CC-BY-SA-4.0 -->", "CC-BY-SA-4.0"),
])
def test_spdx_identifier_lines(line, expected):
    [m] = detect_matches(line + "\nbody\n")
    assert (m.spdx, m.kind, m.rule) == (expected, "spdx-identifier", "spdx-identifier")
    assert line[m.start:m.end].startswith("SPDX-License-Identifier")


def test_no_deprecated_ids_are_output():
    texts = ["// SPDX-License-Identifier: GPL-2.0+", "License: GPL-3", "# SPDX-License-Identifier: LGPL-2.0+",
             "under the GNU General Public License v2 or later", CLASSPATH_HEADER, APACHE_HEADER]
    for text in texts:
        for m in detect_matches(text):
            assert canonical_spdx(m.spdx) == m.spdx, (text, m.spdx)
            assert "+" not in m.spdx


# ------------------------------------------------------------------------------------------------
# GPL "only" vs "or later"
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("This program is free software; you can redistribute it and/or modify it under the terms of the GNU "
     "General Public License as published by the Free Software Foundation; either version 2 of the License, "
     "or (at your option) any later version.", "GPL-2.0-or-later"),
    ("This program is free software; you can redistribute it and/or modify it under the terms of the GNU "
     "General Public License version 2 as published by the Free Software Foundation.", "GPL-2.0-only"),
    ("This program is free software: you can redistribute it and/or modify it under the terms of the GNU "
     "General Public License as published by the Free Software Foundation, either version 3 of the License, "
     "or (at your option) any later version.", "GPL-3.0-or-later"),
    ("This library is free software; you can redistribute it and/or modify it under the terms of the GNU "
     "Lesser General Public License as published by the Free Software Foundation; version 2.1 of the "
     "License.", "LGPL-2.1-only"),
    ("This library is free software; you can redistribute it and/or modify it under the terms of the GNU "
     "Lesser General Public License as published by the Free Software Foundation; either version 2.1 of "
     "the License, or (at your option) any later version.", "LGPL-2.1-or-later"),
])
def test_gpl_only_and_or_later_are_told_apart(text, expected):
    found = detect("/*\n * " + text + "\n */\nint main(void) { return 0; }\n")
    assert found[:1] == [expected], found


# ------------------------------------------------------------------------------------------------
# Source headers, exceptions, spans
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("source,expected", [
    (APACHE_HEADER, "Apache-2.0"), (BSD3_COMMENT, "BSD-3-Clause"), (MIT_NOTICE, "MIT"),
])
def test_headers_in_source_comments(source, expected):
    matches = detect_matches(source)
    assert matches and matches[0].spdx == expected, matches
    # the copyright line's "All rights reserved" never wins over the license itself
    d = LicensePolicy().decide(source, "code")
    assert (d.keep, d.license, d.category) == (True, expected, "permissive")
    assert d.evidence["rule"] == matches[0].rule and d.evidence["expression"]


def test_with_exception_kept_as_expression():
    [first, *_] = detect_matches(CLASSPATH_HEADER)
    assert first.spdx == "GPL-2.0-only WITH Classpath-exception-2.0"
    assert first.category == "weak-copyleft"
    assert "GNU General Public License version 2 only" in " ".join(CLASSPATH_HEADER[first.start:first.end].split())
    assert "Classpath" in CLASSPATH_HEADER[first.start:first.end]


def test_an_exception_alone_is_not_a_license():
    assert detect('The "Classpath" exception is discussed in this article.') == []


def test_spans_and_rules_point_at_the_matched_text():
    text = "Intro paragraph.\n\n" + APACHE_HEADER
    for m in detect_matches(text):
        assert m.kind in KINDS
        assert 0 <= m.start < m.end <= len(text)
        assert 0 < m.score <= 1
        assert m.rule
        assert set(m.to_dict()) == {"spdx", "start", "end", "score", "rule", "kind", "category", "evidence"}
    [m] = [m for m in detect_matches(text) if m.spdx == "Apache-2.0"]
    assert text[m.start:m.end].lstrip("# ").startswith("Licensed under the Apache License")
    assert m.start > len("Intro paragraph.")


def test_license_url():
    [m] = detect_matches("See https://www.gnu.org/licenses/gpl-3.0.html for the terms.")
    assert (m.spdx, m.kind) == ("GPL-3.0-only", "url")


def test_scancode_false_positive_rules_suppress():
    # ScanCode has a false-positive rule for this build-file line; "License: GPL3" alone is a license tag
    assert detect("vala_project (license: gpl3)") == []
    assert detect("License: GPL3") == ["GPL-3.0-only"]


# ------------------------------------------------------------------------------------------------
# Expressions in the code policy
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("expression,keep", [
    ("MIT OR GPL-2.0-only", True),  # OR: either branch allowed
    ("GPL-2.0-only OR LGPL-2.1-only", False),
    ("Apache-2.0 AND MIT", True),  # AND: both allowed
    ("MIT AND GPL-3.0-only", False),
    ("(GPL-3.0-only AND MIT) OR BSD-2-Clause", True),
    ("Apache-2.0 WITH LLVM-exception", True),
    ("GPL-2.0-only WITH Classpath-exception-2.0", False),  # weak copyleft is not permissive
])
def test_code_policy_on_expressions(expression, keep):
    d = LicensePolicy().decide(f"// SPDX-License-Identifier: {expression}\nint x;\n", "code")
    assert d.keep is keep, d
    assert d.evidence["expression"] == canonical_spdx(expression) or d.evidence["expression"] == f"({canonical_spdx(expression)})"


def test_several_licenses_in_one_file_combine_like_and():
    source = MIT_NOTICE + "\n/* Portions: SPDX-License-Identifier: GPL-3.0-only */\n"
    d = LicensePolicy().decide(source, "code")
    assert (d.keep, d.license) == (False, "GPL-3.0-only")
    assert set(d.evidence["expression"].split(" AND ")) == {"MIT", "GPL-3.0-only"}


# ------------------------------------------------------------------------------------------------
# Mentions are not statements
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "This article discusses the GPL and why some companies avoid it.",
    "The MIT license is popular among JavaScript developers.",
    "Is the code under a permissive license? Nobody knows.",
    "Parking: Non Commercial use only. Commercial Use requires a permit.",
    "If you want to license your application under the GNU GPL, use the gnutls engine.",
    "We compared the Apache License and the BSD licenses in a table.",
    "He renewed his driving licence and his fishing license in May.",
    "Although the GNU General Public License allows selling copies, most people give them away.",
    "Critics of the GNU Lesser General Public License say it confuses small companies.",
])
def test_mentions_are_not_licenses(text):
    assert detect_matches(text) == [], detect_matches(text)


def test_mention_versus_statement():
    assert detect("This article discusses the GPL.") == []
    assert detect("This program is released under the GPL.") == ["GPL-1.0-or-later"]


@pytest.mark.parametrize("text, expected", [
    ("@license MIT", ["MIT"]), (" * License MIT", ["MIT"]), ("License: MIT", ["MIT"]),
    ("Le code est distribué sous licence GPL.", ["GPL-1.0-or-later"]),
    # a label word in the middle of a sentence about other software is not a label
    ("Le studio a ouvert les sources du jeu, placées sous licence GPL, puis a cherché des bénévoles.", []),
])
def test_a_bare_label_counts_at_the_start_of_its_line(text, expected):
    assert detect(text) == expected


# ------------------------------------------------------------------------------------------------
# The index
# ------------------------------------------------------------------------------------------------

def test_index_records_its_data_version():
    idx = license_index.load()
    assert idx.data_version.startswith("licensedcode-data-")
    assert idx.data_version in license_index.cache_path().name
    assert len(idx.licenses) > 2000 and len(idx.rules) > 30000
    assert idx.licenses["gpl-2.0-plus"].spdx == "GPL-2.0-or-later"
    assert idx.licenses["classpath-exception-2.0"].is_exception


# ------------------------------------------------------------------------------------------------
# Creative Commons on web pages: statements vs mentions
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("Content is available under CC BY-SA 3.0 unless otherwise noted.", "CC-BY-SA-3.0"),
    ("© 2023 Example Blog. Some rights reserved. CC BY-NC 2.0", "CC-BY-NC-2.0"),
    ("Photo by Jane Doe / CC BY-NC-ND 4.0", "CC-BY-NC-ND-4.0"),
    ("Images are CC-BY 4.0 licensed.", "CC-BY-4.0"),
    ("This work is licensed under a Creative Commons Attribution-ShareAlike 4.0 International License.",
     "CC-BY-SA-4.0"),
])
def test_cc_statements(text, expected):
    assert detect(text)[:1] == [expected]


@pytest.mark.parametrize("text", [
    "Our blog post compares CC BY and CC BY-NC licenses for photographers.",
    "We discuss whether CC BY-NC-ND 4.0 works for datasets.",
    "The Creative Commons Attribution-NonCommercial 4.0 International license forbids commercial use, as "
    "this article explains.",
])
def test_cc_mentions_in_prose_are_not_statements(text):
    assert detect(text) == []
    assert LicensePolicy().decide(text, "web").keep


def test_or_later_after_a_versioned_name():
    assert detect("# licensed under GPLv3 or later") == ["GPL-3.0-or-later"]
    assert detect("# License: GPLv3") == ["GPL-3.0-only"]


def test_a_choice_between_licenses_is_an_or_expression():
    text = "// Licensed under either of Apache License, Version 2.0 or MIT license at your option.\n"
    assert detect(text) == ["Apache-2.0 OR MIT"]
    assert LicensePolicy().decide(text, "code").keep


@pytest.mark.parametrize("text", ["copyright\nGPL", "License\nMIT", "licen", "warranty GPL 2"])
def test_short_rule_at_the_very_end_of_a_text(text):
    detect_matches(text)  # once raised IndexError (a 2-token key cut short at the end of the text)


@pytest.mark.parametrize("source", [
    'if license == "MIT":\n    allowed = True\n',
    'LICENSES = ["MIT", "Apache-2.0", "GPL-3.0"]\n',
    'return self.name == "GPL"\n',
])
def test_license_names_in_code_logic_are_not_licenses(source):
    assert detect(source) == []


@pytest.mark.parametrize("source,expected", [
    ('  "license": "MIT",\n', "MIT"), ("setup(name='x', license='MIT')\n", "MIT"), ("Licence: GPL-2+\n", "GPL-2.0-or-later"),
])
def test_license_labels(source, expected):
    assert detect(source) == [expected]


GCC_HEADER = """// Copyright (C) 2006-2022 Free Software Foundation, Inc.
//
// This file is part of the GNU ISO C++ Library.  This library is free
// software; you can redistribute it and/or modify it under the
// terms of the GNU General Public License as published by the
// Free Software Foundation; either version 3, or (at your option)
// any later version.

// This library is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.

// Under Section 7 of GPL version 3, you are granted additional
// permissions described in the GCC Runtime Library Exception, version
// 3.1, as published by the Free Software Foundation.

// You should have received a copy of the GNU General Public License and
// a copy of the GCC Runtime Library Exception along with this program;
// see the files COPYING3 and COPYING.RUNTIME respectively.  If not, see
// <http://www.gnu.org/licenses/>.
#include <bits/c++config.h>
"""


def test_notice_and_exception_paragraphs_are_one_expression():
    assert detect(GCC_HEADER) == ["GPL-3.0-or-later WITH GCC-exception-3.1"]


def test_is_under_the_license_is_a_statement():
    assert detect("# Note: This file is under the PSF license as the code comes from the python stdlib.") == \
        ["Python-2.0"]
    assert detect("Which projects use the PSF license?") == []
