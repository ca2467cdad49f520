"""`curate robots rank`: which hosts' robots.txt to fetch. As Apertus ranked FineWeb (English) and
FineWeb-2 (other languages): text volume per host over the input, split by language ID into English and
the rest, then the top N of each. Writes a hosts file for `curate robots fetch` (one origin a line) and
a CSV beside it with the volumes.

It reads crawl dumps and runs language ID, so it lives beside the pipeline (readers, blocks), not in
`curate.robots`, which is a library of robots.txt parsing, caching and policy and knows no pipeline; the
command is still `curate robots rank`, added to that group here."""
from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import click

from curate.robots.cli import robots


def rank_hosts(input_spec, top_en: int, top_other: int, language_column: str | None = None):
    """Returns [(origin, group, chars, docs)] best first: English then other, each by text volume."""
    from curate.blocks.base import FILE_END, is_live  # imported here: every curate command loads this module
    from curate.blocks.language import LanguageId
    from curate.readers import InputReader, list_inputs, preflight

    files = list_inputs(input_spec)
    preflight(files)
    lid = None
    volume: dict[tuple[str, str], list] = defaultdict(lambda: [0, 0, set()])
    unknown: list = []  # documents waiting for lid.176, which predicts many at once

    def count(doc, lang: str) -> None:
        group = "en" if lang == "en" else "other"
        scheme = doc.metadata["url"].split(":", 1)[0].lower()
        v = volume[(doc.metadata["host"], group)]
        v[0] += len(doc.text)
        v[1] += 1
        v[2].add(scheme if scheme in ("http", "https") else "https")

    def identify_unknown() -> None:
        nonlocal lid
        if unknown:
            lid = lid or LanguageId()
            for doc, (lang, _) in zip(unknown, lid.predict_many([d.text for d in unknown])):
                count(doc, lang)
            unknown.clear()

    for doc in InputReader(files).run():
        if FILE_END in doc.metadata or not is_live(doc):
            continue
        lang = doc.metadata.get(language_column) if language_column else None
        if lang:
            count(doc, lang)
        else:
            unknown.append(doc)
            if len(unknown) >= 64:
                identify_unknown()
    identify_unknown()
    out = []
    for group, top in (("en", top_en), ("other", top_other)):
        ranked = sorted(((h, v) for (h, g), v in volume.items() if g == group and h), key=lambda x: (-x[1][0], x[0]))
        out += [(h, group, v[0], v[1], sorted(v[2])) for h, v in ranked[:top]]
    return out


@robots.command("rank")
@click.option("--input", "input_spec", required=True, multiple=True, help="File, directory or glob (repeatable).")
@click.option("--top-en", type=click.IntRange(0), default=1_000_000, show_default=True, help="English hosts to keep.")
@click.option("--top-other", type=click.IntRange(0), default=1_000_000, show_default=True, help="Other-language hosts.")
@click.option("--language-column", default=None, help="Use this input column as the language instead of lid.176.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Hosts file to write.")
def rank(input_spec, top_en, top_other, language_column, out):
    """Rank hosts by text volume (English / other languages) and write the top ones as a hosts file."""
    rows = rank_hosts(list(input_spec), top_en, top_other, language_column)
    seen, lines = set(), []
    for host, _, _, _, schemes in rows:
        for s in schemes:
            if (s, host) not in seen:
                seen.add((s, host))
                lines.append(f"{s}://{host}")
    Path(out).write_text("".join(line + "\n" for line in lines))
    with open(str(out) + ".csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["host", "group", "chars", "documents"])
        w.writerows([(h, g, c, d) for h, g, c, d, _ in rows])
    hosts = {r[0] for r in rows}
    en, other = {r[0] for r in rows if r[1] == "en"}, {r[0] for r in rows if r[1] == "other"}
    both = f", {len(en & other)} in both tops" if en & other else ""
    click.echo(f"{len(lines)} origins of {len(hosts)} hosts ({len(en)} in the English top, {len(other)} in the "
               f"other-language top{both}) -> {out} (volumes per host and group in {out}.csv)")
