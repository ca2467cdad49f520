"""Readers on real samples and on broken input: quarantined rows with reasons, or a clear error naming the
file before any output is written."""
import gzip
import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import REPO, run_cli
from curate.blocks.base import FILE_END, state
from curate.readers import InputError, InputReader, list_inputs, preflight


def read_all(path):
    files = list_inputs(str(path))
    preflight(files)
    docs = [d for d in InputReader(files).run() if FILE_END not in d.metadata]
    return docs


def reasons(docs):
    return [state(d)["reason"] for d in docs]


def test_fineweb_parquet_and_jsonl_keep_columns(corpora):
    for name in ("cc_en_head_as_fineweb.parquet", "cc_en_head_as_fineweb.jsonl"):
        docs = read_all(corpora / "crawl" / "derived_fineweb_schema" / name)
        assert len(docs) == 20 and all(state(d)["status"] == "kept" for d in docs)
        d = docs[0]
        assert d.metadata["dump"].startswith("CC-MAIN-") and d.metadata["url"].startswith("http")
        assert d.metadata["host"] and d.metadata["date"] and d.id.startswith("sha1:")
        assert "file_path" in d.metadata and "language_score" in d.metadata  # other columns kept
        assert [x.metadata["source_row"] for x in docs] == list(range(20))


def test_wet_takes_dump_and_date_from_the_records(corpora):
    docs = read_all(corpora / "crawl" / "whirlwind" / "whirlwind.warc.wet.gz")
    assert len(docs) == 1
    d = docs[0]
    assert d.metadata["dump"] == "CC-MAIN-2024-22" and d.metadata["date"].startswith("2024")
    assert d.text.strip() and d.metadata["url"].startswith("http") and d.id.startswith("<urn:uuid:")


def test_warc_responses_go_through_the_html_extractor(corpora):
    docs = read_all(corpora / "crawl" / "whirlwind" / "whirlwind.warc.gz")
    assert len(docs) == 1 and state(docs[0])["status"] == "kept"
    assert "<html" not in docs[0].text.lower() and len(docs[0].text) > 100
    docs = read_all(corpora / "crawl" / "dolma" / "sample-0000.warc.gz")
    assert sum(state(d)["status"] == "kept" for d in docs) >= 10


@pytest.mark.parametrize("name,reason", [
    ("example-bad-non-chunked.warc.gz", "input.warc_error"),
    ("example-wrong-chunks.warc.gz", "input.warc_error"),
])
def test_broken_warc_records_are_quarantined(corpora, name, reason):
    docs = read_all(corpora / "crawl" / "warcio" / name)
    assert reason in reasons(docs)
    q = [d for d in docs if state(d)["reason"] == reason][0]
    assert state(q)["status"] == "quarantined" and state(q)["detail"]["input"]["error"]


def test_wet_with_wrong_content_length_is_quarantined(corpora):
    docs = read_all(corpora / "crawl" / "cc_net" / "sample.warc.txt")
    assert reasons(docs)[-1] == "input.warc_error"


@pytest.mark.parametrize("name", ["example-bad.warc.gz.bad", "../resiliparse/warcfile.warc.lz4"])
def test_unreadable_formats_are_a_clear_error_naming_the_file(corpora, name):
    path = corpora / "crawl" / "warcio" / name
    with pytest.raises(InputError, match=str(path.name).replace(".", r"\.")):
        read_all(path)


def test_non_html_records_are_quarantined_not_lost(corpora):
    docs = read_all(corpora / "crawl" / "warcio" / "post-test.warc.gz")
    assert docs and set(reasons(docs)) == {"input.unsupported_content_type"}


def test_bad_jsonl_lines_become_quarantined_rows(tmp_path):
    p = tmp_path / "bad.jsonl"
    good = {"text": "A fine document about the mountains.", "id": "a", "url": "https://x.example/a", "dump": "CC-MAIN-2020-05"}
    lines = [json.dumps(good).encode(), b"{not json", json.dumps({"id": "b", "url": "https://x.example/b"}).encode(),
             json.dumps({"id": "c", "text": "no url here"}).encode(),
             b'{"id": "d", "url": "https://x.example/d", "text": "bad \xff\xfe bytes"}',
             json.dumps({"id": "e", "url": "https://x.example/e", "text": "lone \ud800 surrogate"}).encode(),
             b"[1, 2]"]
    p.write_bytes(b"\n".join(lines) + b"\n")
    docs = read_all(p)
    assert len(docs) == 7
    assert reasons(docs) == [None, "input.invalid_json", "input.missing_text", "input.missing_url",
                             "input.invalid_utf8", "input.invalid_unicode", "input.invalid_json"]
    assert [d.metadata["source_row"] for d in docs] == list(range(7))
    assert len({d.id for d in docs}) == 7


def test_parquet_with_invalid_utf8_or_no_url_quarantines_only_that_row(tmp_path):
    p = tmp_path / "x.parquet"
    text = pa.array([b"ok text", b"bad \xff text", b"fine"], pa.binary()).view(pa.string())  # unvalidated bytes
    pq.write_table(pa.table({"text": text, "id": ["1", "2", "3"],
                             "url": ["https://a.example/1", "https://a.example/2", None]}), p)
    docs = read_all(p)
    assert reasons(docs) == [None, "input.invalid_utf8", "input.missing_url"]


def test_truncated_parquet_fails_before_any_output(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    t = pa.table({"text": ["hello world"] * 100, "id": [str(i) for i in range(100)],
                  "url": [f"https://a.example/{i}" for i in range(100)]})
    pq.write_table(t, src / "good.parquet")
    data = (src / "good.parquet").read_bytes()
    (src / "broken.parquet").write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    proc = run_cli("run", REPO / "pipelines" / "demo.yaml", "--input", src, "--out", out,
                   "--robots-cache", REPO / "robots_cache" / "demo", "--no-progress", check=False)
    assert proc.returncode != 0
    assert "broken.parquet" in proc.stderr and "not a readable parquet" in proc.stderr
    assert not (out / "manifests").exists() and not (out / "run.json").exists()


def test_truncated_gzip_jsonl_is_quarantined_after_what_was_read(tmp_path):
    body = b"".join(json.dumps({"text": f"doc {i} about lakes", "id": str(i), "url": f"https://a.example/{i}"}).encode() + b"\n"
                    for i in range(2000))
    data = gzip.compress(body)
    p = tmp_path / "t.jsonl.gz"
    p.write_bytes(data[: len(data) // 2])
    docs = read_all(p)
    assert reasons(docs)[-1] == "input.unreadable_rows" and 0 < len(docs) < 2001
    assert all(r is None for r in reasons(docs)[:-1])


def test_bad_input_end_to_end_keeps_accounting(tmp_path, corpora):
    """A run over broken WARCs and bad jsonl finishes, and every record has its row."""
    src = tmp_path / "in"
    src.mkdir()
    for name in ("example-bad-non-chunked.warc.gz", "example-wrong-chunks.warc.gz", "post-test.warc.gz"):
        shutil.copy(corpora / "crawl" / "warcio" / name, src / name)  # a temporary input folder, not the project
    (src / "x.jsonl").write_bytes(b'{"text": "Hello there, a document.", "id": "1", "url": "https://a.example/1"}\n{oops\n')
    out = tmp_path / "out"
    run_cli("run", REPO / "pipelines" / "demo.yaml", "--input", src, "--out", out,
            "--robots-cache", REPO / "robots_cache" / "demo", "--no-progress")
    from curate.manifest import connect

    rows = connect(out).execute("SELECT status, reason FROM manifest").fetchall()
    assert ("quarantined", "input.invalid_json") in rows and ("quarantined", "input.warc_error") in rows
    info = json.loads((out / "run.json").read_text())
    assert info["totals"]["documents"] == len(rows)


def test_robots_rank_orders_hosts_by_volume_per_language_group(tmp_path):
    rows = [{"text": "The weather is fine today and we walk by the river. " * n, "id": f"e{n}",
             "url": f"https://en{n}.example/a"} for n in (1, 5, 3)]
    rows += [{"text": "Das Wetter ist heute schön und wir gehen am Fluss spazieren. " * n, "id": f"d{n}",
              "url": f"http://de{n}.example/a"} for n in (2, 7)]
    p = tmp_path / "in.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "hosts.txt"
    run_cli("robots", "rank", "--input", p, "--top-en", "2", "--top-other", "1", "--out", out)
    assert out.read_text().splitlines() == ["https://en5.example", "https://en3.example", "http://de7.example"]
    assert (tmp_path / "hosts.txt.csv").read_text().splitlines()[0] == "host,group,chars,documents"


def test_robots_rank_identifies_languages_in_batches_as_one_by_one(tmp_path):
    """rank_hosts asks lid.176 for 64 documents at a time (and once more for the rest): every document is
    counted once, in the group its own prediction gives; a language column skips the model."""
    from curate.blocks.language import LanguageId
    from curate.rank import rank_hosts

    texts = ["The weather is fine today and we walk by the river.", "Das Wetter ist heute schön.",
             "Il fait beau aujourd'hui et nous marchons.", "Hola hello bonjour ciao hallo", "12345"]
    rows = [{"text": f"{texts[i % 5]} {i}", "id": str(i), "url": f"https://h{i % 7}.example/{i}"} for i in range(150)]
    p = tmp_path / "in.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    lid = LanguageId()
    want: dict = {}
    for r in rows:
        group = "en" if lid.predict(r["text"])[0] == "en" else "other"
        v = want.setdefault((r["url"].split("/")[2], group), [0, 0])
        v[0] += len(r["text"])
        v[1] += 1
    got = {(h, g): [c, n] for h, g, c, n, _ in rank_hosts([str(p)], 100, 100)}
    assert got == want and sum(n for _, n in got.values()) == 150
    for r in rows:
        r["lang"] = "en"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert {g for _, g, _, _, _ in rank_hosts([str(p)], 100, 100, language_column="lang")} == {"en"}


def test_keep_id_reads_only_the_sample_with_the_ids_and_fields_of_a_full_read(tmp_path, corpora):
    """The calibration pass reads its sample only: a record whose id fails keep_id never becomes a Document;
    the ones that pass are the documents a full read gives (ids made from file and row included)."""
    from functools import partial

    from curate.calibrate import in_sample

    rows = [{"text": f"text {i}", "url": f"https://a.example/{i}", **({"id": f"x{i}"} if i % 3 else {})}
            for i in range(400)]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pq.write_table(pa.Table.from_pylist([{"text": r["text"], "url": r["url"], "id": r.get("id")} for r in rows]),
                   tmp_path / "b.parquet")
    sources = [tmp_path / "a.jsonl", tmp_path / "b.parquet", corpora / "crawl" / "dolma" / "sample-0000.warc.gz",
               corpora / "crawl" / "whirlwind" / "whirlwind.warc.wet.gz"]
    keep = partial(in_sample, fraction=0.3)
    for src in sources:
        files = list_inputs(str(src))
        full = [d for d in InputReader(files).run() if FILE_END not in d.metadata]
        part = [d for d in InputReader(files, keep_id=keep).run() if FILE_END not in d.metadata]
        expected = [d for d in full if keep(d.id)]
        assert [(d.id, d.text, d.metadata) for d in part] == [(d.id, d.text, d.metadata) for d in expected], src
        if src.suffix in (".jsonl", ".parquet"):
            assert 60 < len(part) < 180 and len(full) == 400
        if src.name.startswith("sample-0000"):
            assert 0 < len(part) < len(full)  # records skipped before extraction
    ends = [d for d in InputReader(list_inputs(str(sources[0])), keep_id=lambda _: False).run()]
    assert len(ends) == 1 and FILE_END in ends[0].metadata  # the file still ends: its outputs complete


def test_an_unparsable_url_quarantines_its_row_only(tmp_path):
    rows = [{"text": "hello world", "url": "http://[abc/x"}, {"text": "fine text", "url": "http://b.example/"}]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    docs = read_all(tmp_path / "a.jsonl")
    assert [(state(d)["status"], state(d)["reason"]) for d in docs] == [("quarantined", "input.invalid_url"),
                                                                        ("kept", None)]
