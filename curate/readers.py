"""Input readers: FineWeb-style parquet and jsonl, WARC (HTML responses through datatrove's extractor)
and WET (extracted text), as one datatrove step that turns every input record into a Document.

Nothing is lost silently: a record that cannot become a document (not JSON, invalid UTF-8, no text or
URL, a broken WARC record, an unreadable parquet row group) becomes a document marked `quarantined` with
its reason, so the sink still writes its manifest row. Whole files that cannot be opened at all are
caught by `preflight()` before any output is written.

Huge records (pipeline key `input: {max_chars: 1000000, too_large: quarantine}`): a text longer than
`max_chars` characters is quarantined as `input.too_large` (detail: its length) and its text let go at
once, so it never reaches the blocks; with `too_large: truncate` it is cut to its first `max_chars`
characters and kept, the detail's `input` entry recording `truncated`, `n_chars_read` and `max_chars`.
A WARC HTML payload above 10 x `max_chars` bytes is quarantined before extraction (cut there, when truncating).

Files are split across tasks by index (file i goes to task i % world_size), and all per-file outputs are
named after the file, so the result does not depend on the number of tasks.
"""
from __future__ import annotations

import glob
import gzip
import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Callable, Iterator
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from curate.blocks.base import FILE_END, QUARANTINED, mark, state
from curate.robots.signals import capture_headers, scan_meta

DUMP_RE = re.compile(r"CC-MAIN-\d{4}-\d{2}")
CODE_EXTENSIONS = {
    ".py", ".c", ".h", ".cc", ".cpp", ".hpp", ".java", ".js", ".ts", ".go", ".rs", ".rb", ".php", ".cs",
    ".swift", ".kt", ".scala", ".sh", ".pl", ".lua", ".r", ".m", ".jl", ".hs", ".ml", ".sql",
}
FORMATS = ("parquet", "jsonl", "warc", "wet")
HTML_BYTES_PER_CHAR = 10  # a WARC HTML payload above 10 x max_chars bytes is too large before extraction


class InputError(Exception):
    """An input that cannot be read at all; raised before any output is written."""


@dataclass(frozen=True)
class InputFile:
    path: str  # absolute
    name: str  # relative to the input root: what the manifest records as source_file
    format: str
    index: int

    @property
    def stem(self) -> str:
        """Output file stem: index plus a sanitised name, unique and stable."""
        name = re.sub(r"\.(parquet|jsonl|json|ndjson|warc|wet|arc|gz|zst|bz2)$", "", self.name)
        name = re.sub(r"\.(parquet|jsonl|json|ndjson|warc|wet|arc)$", "", name)
        name = re.sub(r"\.(warc|wet)$", "", name)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
        return f"{self.index:05d}_{safe}"[:180]


def detect_format(path: str) -> str | None:
    p = path.lower()
    for ext in (".gz", ".zst", ".bz2"):
        if p.endswith(ext):
            p = p[: -len(ext)]
    if p.endswith(".parquet"):
        return "parquet"
    if p.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if p.endswith(".wet") or p.endswith(".warc.wet"):
        return "wet"
    if p.endswith((".warc", ".arc")):
        return "warc"
    return None


def list_inputs(spec: str | list[str], fmt: str = "auto", skipped: list | None = None) -> list[InputFile]:
    """Expand a file, directory or glob (or several) into a sorted list of input files. Files inside a
    directory whose format is unknown are not read; they are appended to `skipped` for the run record."""
    specs = [spec] if isinstance(spec, str) else list(spec)
    found: list[tuple[str, str]] = []
    for s in specs:
        if os.path.isdir(s):
            root = os.path.abspath(s)
            for dirpath, _, files in os.walk(root):
                for f in files:
                    full = os.path.join(dirpath, f)
                    if detect_format(full):
                        found.append((full, os.path.relpath(full, root)))
                    elif skipped is not None:
                        skipped.append(full)
        elif any(c in s for c in "*?["):
            root = os.path.abspath(s.split("*")[0].split("?")[0].split("[")[0])
            root = root if os.path.isdir(root) else os.path.dirname(root)
            for full in glob.glob(s, recursive=True):
                if os.path.isfile(full):
                    full = os.path.abspath(full)
                    found.append((full, os.path.relpath(full, root)))
        elif os.path.isfile(s):
            full = os.path.abspath(s)
            found.append((full, os.path.basename(full)))
        else:
            raise InputError(f"{s}: no such file, directory or glob match")
    if not found:
        where = ", ".join(map(str, specs))
        extra = f"; {len(skipped)} file(s) of unknown format, e.g. {skipped[0]}" if skipped else ""
        raise InputError(f"no input files found in {where} (readable: .parquet, .jsonl/.json/.ndjson, .warc, .wet, "
                         f"optionally .gz/.zst/.bz2){extra}")
    found = sorted(set(found), key=lambda x: (x[1], x[0]))
    out = []
    for i, (full, name) in enumerate(found):
        if full.endswith(".lz4"):
            raise InputError(f"{full}: lz4-compressed input is not supported; decompress it first")
        f = detect_format(full) if fmt == "auto" else fmt
        if f is None:
            f = sniff_format(full)
        if f not in FORMATS:
            raise InputError(f"{full}: unknown input format (expected one of {', '.join(FORMATS)})")
        out.append(InputFile(full, name, f, i))
    return out


def sniff_format(path: str) -> str | None:
    with _open_maybe_compressed(path) as f:
        head = f.read(64)
    if head.startswith(b"WARC/"):
        return "wet" if b"conversion" in _peek(path, 4096) else "warc"
    if head.lstrip().startswith(b"{"):
        return "jsonl"
    if head.startswith(b"PAR1"):
        return "parquet"
    return None


def _peek(path: str, n: int) -> bytes:
    with _open_maybe_compressed(path) as f:
        return f.read(n)


def _open_maybe_compressed(path: str):
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".zst"):
        import zstandard  # optional: only when such inputs are given

        return zstandard.open(path, "rb")
    if path.endswith(".bz2"):
        import bz2

        return bz2.open(path, "rb")
    return open(path, "rb")


def preflight(files: list[InputFile]) -> None:
    """Fail early, naming the file, for inputs that cannot be opened at all."""
    for f in files:
        if not os.access(f.path, os.R_OK):
            raise InputError(f"{f.path}: not readable")
        if f.path.endswith(".zst"):
            try:
                import zstandard  # noqa: F401
            except ImportError as e:
                raise InputError(f"{f.path}: zstd input needs the zstandard package (pip install zstandard)") from e
        if f.format == "parquet":
            try:
                pq.ParquetFile(f.path)
            except Exception as e:  # truncated or not parquet: the footer is unreadable
                raise InputError(f"{f.path}: not a readable parquet file ({type(e).__name__}: {e})") from e
        else:
            try:
                _peek(f.path, 1)
            except Exception as e:
                raise InputError(f"{f.path}: cannot be opened ({type(e).__name__}: {e})") from e


def source_type_of(url: str, declared: str | None = None) -> str:
    if declared in ("web", "code"):
        return declared
    try:
        path = urlsplit(url).path.lower()
    except ValueError:  # unparsable (e.g. "http://[abc"): the reader quarantines the row as input.invalid_url
        return "web"
    return "code" if os.path.splitext(path)[1] in CODE_EXTENSIONS else "web"


@dataclass
class ReaderOptions:
    text_key: str = "text"
    id_key: str = "id"
    url_key: str = "url"
    format: str = "auto"
    max_chars: int = 1_000_000  # longer texts: quarantined as input.too_large, or cut when too_large == "truncate"
    too_large: str = "quarantine"


class InputReader(PipelineStep):
    """Reads this task's share of the input files; yields one Document per record, then an end marker."""

    name = "read"
    type = "reader"

    def __init__(self, files: list[InputFile], options: ReaderOptions | None = None, done_dir: str | None = None,
                 run_id: str | None = None, progress: bool = False, label: str = "task",
                 keep_id: Callable[[str], bool] | None = None):
        super().__init__()
        self.files = files
        # only records whose doc id passes become Documents (a pass over a sample); the others are skipped
        # before any other work on them. None = every record.
        self.keep_id = keep_id
        self.options = options or ReaderOptions()
        self.done_dir = done_dir  # files with a completion marker of this run are skipped (resume)
        self.run_id = run_id
        self.progress = progress  # a bar over this task's input bytes: percent and ETA (a terminal only)
        self.label = label
        self._pos = 0.0  # bytes of the current file read so far (set by the format readers)

    def is_done(self, f: InputFile) -> bool:
        if not self.done_dir:
            return False
        p = os.path.join(self.done_dir, f"{f.stem}.json")
        if not os.path.exists(p):
            return False
        with open(p) as fh:
            return json.load(fh).get("run_id") == self.run_id

    def _bar(self, files: list[InputFile], rank: int, world_size: int):
        if not self.progress or not files:
            return None
        import sys

        from tqdm import tqdm

        total = sum(_size(f.path) for f in files)
        return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, mininterval=1.0,
                    desc=f"{self.label} {rank:03d}", dynamic_ncols=True, leave=world_size == 1,
                    position=rank if world_size <= 8 else None,
                    bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]")

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        mine = [f for f in self.files if f.index % world_size == rank and not self.is_done(f)]
        bar = self._bar(mine, rank, world_size)
        base, docs = 0, 0
        try:
            for f in mine:
                n = 0
                self._pos = 0.0
                size = _size(f.path)
                for doc in self.read_file(f):
                    if doc is None:  # not in the sample (keep_id)
                        continue
                    doc.metadata["_stem"] = f.stem
                    n += 1
                    self.stat_update("documents")
                    if bar is not None and n % 256 == 0:
                        bar.set_postfix_str(f"{docs + n:,} docs", refresh=False)
                        bar.update(max(0, int(base + min(self._pos, size)) - bar.n))
                    yield doc
                base, docs = base + size, docs + n
                if bar is not None:
                    bar.set_postfix_str(f"{docs:,} docs", refresh=False)
                    bar.update(max(0, base - bar.n))
                yield Document(text="", id=f"{FILE_END}:{f.index}", metadata={FILE_END: {"file": f, "rows": n}})
        finally:
            if bar is not None:
                bar.close()

    # -- per format ---------------------------------------------------------------------------------
    def read_file(self, f: InputFile) -> Iterator[Document]:
        reader = {"parquet": self._parquet, "jsonl": self._jsonl, "warc": self._warc, "wet": self._warc}[f.format]
        yield from reader(f)

    def _make(self, f: InputFile, row: int, text, url, doc_id=None, dump=None, date=None,
              extra=None) -> Document | None:
        """Build a Document from raw fields, quarantining what is malformed (None: not in the sample)."""
        doc_id = _doc_id(f, row, doc_id)
        if self.keep_id is not None and not self.keep_id(doc_id):
            return None
        problem = None
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as e:
                problem, text = ("input.invalid_utf8", f"text: {e}"), ""
        if isinstance(url, bytes):
            try:
                url = url.decode("utf-8")
            except UnicodeDecodeError as e:
                problem, url = problem or ("input.invalid_utf8", f"url: {e}"), None
        if problem is None:
            if not isinstance(text, str) or not text.strip():
                problem = ("input.missing_text", "no text" if text is None else "empty or non-string text")
            elif not isinstance(url, str) or not url.strip():
                problem = ("input.missing_url", "no url")
            else:
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError as e:  # lone surrogates from JSON escapes
                    problem = ("input.invalid_unicode", str(e))
        text = text if isinstance(text, str) else ""
        cut = None
        if problem is None and len(text) > self.options.max_chars:
            n, limit = len(text), self.options.max_chars
            if self.options.too_large == "truncate":
                text, cut = text[:limit], {"truncated": True, "n_chars_read": n, "max_chars": limit}
            else:  # the text is let go at once: a 60 MB record must not travel through the blocks
                problem, text = ("input.too_large", f"{n} characters, more than max_chars = {limit}"), ""
        url = url.strip() if isinstance(url, str) else None
        dump = dump or _dump_from(f.name)
        meta = dict(extra or {})
        meta.update(url=url, dump=dump, date=None if date is None else str(date), source_file=f.name,
                    source_row=row, source_type=source_type_of(url or "", meta.get("source_type")))
        try:
            meta["host"] = (urlsplit(url).hostname or None) if url else None
        except ValueError:
            meta["host"] = None
            problem = problem or ("input.invalid_url", f"unparsable url {url!r}")
        if problem and problem[0] == "input.invalid_unicode":
            text = ""  # not encodable: the manifest keeps the row, the text cannot travel further
        doc = Document(text=text, id=doc_id, metadata=meta)
        state(doc)
        if problem:
            mark(doc, QUARANTINED, "input", problem[0], {"error": problem[1]})
        elif cut:
            state(doc)["detail"]["input"] = cut
        return doc

    def _quarantine(self, f: InputFile, row: int, reason: str, error: str, doc_id: str | None = None) -> Document:
        doc = Document(text="", id=doc_id or f"curate:{f.name}#{row}", metadata={
            "url": None, "host": None, "dump": _dump_from(f.name), "date": None, "source_file": f.name,
            "source_row": row, "source_type": "web"})
        state(doc)
        mark(doc, QUARANTINED, "input", reason, {"error": error})
        return doc

    def _fields(self, rec: dict):
        o = self.options
        url = rec.get(o.url_key)
        if url is None and isinstance(rec.get("metadata"), dict):
            url = rec["metadata"].get("url")
        extra = {k: v for k, v in rec.items() if k not in (o.text_key, o.id_key, o.url_key, "dump", "date")}
        return rec.get(o.text_key), url, rec.get(o.id_key), rec.get("dump"), rec.get("date"), extra

    def _parquet(self, f: InputFile) -> Iterator[Document]:
        o = self.options
        row = 0
        try:
            pf = pq.ParquetFile(f.path)
            n_rows, size = max(1, pf.metadata.num_rows), _size(f.path)
            for batch in pf.iter_batches(batch_size=2048):
                self._pos = size * (row + batch.num_rows) / n_rows
                cols = {}
                for name in batch.schema.names:
                    col = batch.column(name)
                    if name in (o.text_key, o.url_key) and pa.types.is_string(col.type):
                        col = col.cast(pa.binary())  # decode per row, so one bad value quarantines one row
                    elif name in (o.text_key, o.url_key) and pa.types.is_large_string(col.type):
                        col = col.cast(pa.large_binary())
                    cols[name] = col.to_pylist()
                for i in range(batch.num_rows):
                    rec = {k: v[i] for k, v in cols.items()}
                    text, url, doc_id, dump, date, extra = self._fields(rec)
                    yield self._make(f, row, text, url, doc_id, dump, date, _jsonable(extra))
                    row += 1
        except Exception as e:  # a corrupt page or row group: record what could not be read
            yield self._quarantine(f, row, "input.unreadable_rows", f"rows {row}.. unreadable: {type(e).__name__}: {e}")

    def _jsonl(self, f: InputFile) -> Iterator[Document]:
        row = 0
        try:
            with _open_maybe_compressed(f.path) as fh:
                raw = getattr(fh, "fileobj", None) or fh  # gzip: the compressed file's position
                for line in fh:
                    if row % 256 == 0:
                        self._pos = _tell(raw)
                    if not line.strip():
                        row += 1
                        continue
                    try:
                        s = line.decode("utf-8")
                    except UnicodeDecodeError as e:
                        yield self._quarantine(f, row, "input.invalid_utf8", str(e))
                        row += 1
                        continue
                    try:
                        rec = json.loads(s)
                    except json.JSONDecodeError as e:
                        yield self._quarantine(f, row, "input.invalid_json", str(e))
                        row += 1
                        continue
                    if not isinstance(rec, dict):
                        yield self._quarantine(f, row, "input.invalid_json", f"a JSON {type(rec).__name__}, not an object")
                        row += 1
                        continue
                    text, url, doc_id, dump, date, extra = self._fields(rec)
                    line = s = rec = None  # noqa: F841  (a huge line is not kept alive while its document travels)
                    doc = self._make(f, row, text, url, doc_id, dump, date, extra)
                    text = extra = None
                    yield doc
                    doc = None
                    row += 1
        except (OSError, EOFError) as e:  # truncated gzip and the like
            yield self._quarantine(f, row, "input.unreadable_rows", f"rows {row}.. unreadable: {type(e).__name__}: {e}")

    def _warc(self, f: InputFile) -> Iterator[Document]:
        from warcio.archiveiterator import ArchiveIterator

        row = 0
        dump = _dump_from(f.name)
        extractor = None
        try:
            with open(f.path, "rb") as fh:
                it = ArchiveIterator(fh, arc2warc=True)
                for rec in it:
                    self._pos = _tell(fh)
                    rtype = rec.rec_type
                    if rtype == "warcinfo":
                        info = rec.content_stream().read().decode("utf-8", "replace")
                        m = re.search(r"isPartOf:\s*(\S+)", info)
                        if m and DUMP_RE.search(m.group(1)):
                            dump = DUMP_RE.search(m.group(1)).group(0)
                        continue
                    if rtype not in ("conversion", "response", "resource"):
                        continue
                    h = rec.rec_headers
                    url = h.get_header("WARC-Target-URI")
                    url = url.strip("<>") if url else url
                    doc_id = h.get_header("WARC-Record-ID") or None
                    if self.keep_id is not None and not self.keep_id(_doc_id(f, row, doc_id)):
                        row += 1  # not in the sample: no payload read, no extraction
                        continue
                    date = h.get_header("WARC-Date")
                    payload = rec.content_stream().read()
                    if rtype == "conversion":
                        yield self._make(f, row, payload, url, doc_id, dump, date)
                    else:
                        ctype = (rec.http_headers.get_header("Content-Type") if rec.http_headers else
                                 h.get_header("Content-Type")) or ""
                        # opt-out signals of the page itself (bounded; see curate.robots.signals)
                        signals = capture_headers(rec.http_headers.headers) if rec.http_headers else {}
                        if "html" in ctype.lower():
                            scan_meta(payload, signals)
                        extra = {"page_signals": signals} if signals.get("headers") or signals.get("meta") else None
                        if "html" not in ctype.lower() and "text/plain" not in ctype.lower():
                            yield self._quarantine(f, row, "input.unsupported_content_type",
                                                   f"{rtype} record with Content-Type {ctype or 'none'!r}", doc_id)
                        elif "text/plain" in ctype.lower():
                            yield self._make(f, row, payload, url, doc_id, dump, date, extra)
                        else:
                            if extractor is None:
                                from datatrove.pipeline.extractors import Trafilatura

                                extractor = Trafilatura(favour_precision=True)
                            limit = HTML_BYTES_PER_CHAR * self.options.max_chars
                            if len(payload) > limit and self.options.too_large != "truncate":
                                yield self._quarantine(f, row, "input.too_large",
                                                       f"HTML payload of {len(payload)} bytes, more than "
                                                       f"{HTML_BYTES_PER_CHAR} x max_chars = {limit}", doc_id)
                                row += 1
                                continue
                            html = payload[:limit].decode(_charset(ctype) or "utf-8", "replace")
                            try:
                                text = extractor.extract(html) or ""
                            except Exception as e:
                                yield self._quarantine(f, row, "input.extraction_failed", f"{type(e).__name__}: {e}", doc_id)
                            else:
                                doc = self._make(f, row, text, url, doc_id, dump, date, extra)
                                if doc is not None and state(doc)["reason"] == "input.missing_text":
                                    state(doc)["reason"] = "input.no_text_extracted"
                                yield doc
                    row += 1
        except Exception as e:  # warcio's errors for broken records, truncated gzip, bad chunking...
            yield self._quarantine(f, row, "input.warc_error", f"record {row}: {type(e).__name__}: {e}")


def _doc_id(f: InputFile, row: int, doc_id) -> str:
    """The record's id, or one made from its file and row when it has none."""
    if doc_id is None or doc_id == "":
        return "curate:" + hashlib.sha1(f"{f.name}:{row}".encode()).hexdigest()
    return str(doc_id)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _tell(fh) -> float:
    try:
        return float(fh.tell())
    except (OSError, ValueError, AttributeError):
        return 0.0


def _charset(ctype: str) -> str | None:
    m = re.search(r"charset=([\w-]+)", ctype, re.I)
    if not m:
        return None
    try:
        import codecs

        return codecs.lookup(m.group(1)).name
    except LookupError:
        return None


def _dump_from(name: str) -> str | None:
    m = DUMP_RE.search(name)
    return m.group(0) if m else None


def _jsonable(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        elif hasattr(v, "isoformat"):
            v = v.isoformat()
        out[k] = v
    return out
