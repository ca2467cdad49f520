"""The opt-out stage on real robots.txt files: `curate run pipelines/apertus.yaml` over a FineWeb-style
corpus whose hosts use the real files in ../shared drops exactly what the matcher refuses for the Apertus
agent list, in every dump; bad robots.txt bodies never crash the run."""
import csv
import json
import random
import re
import shutil

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import REPO, run_cli
from curate.manifest import connect
from curate.robots import RobotsTxt, load_agents
from curate.sample import DUMPS, SENTENCES

N_HOSTS = 120


def _paths_from_rules(body: str, rng: random.Random) -> list[str]:
    """URL paths that exercise the file's own rules, plus ordinary ones."""
    paths = ["/", "/index.html", f"/news/{rng.randrange(1000)}.html", "/about?lang=en"]
    for m in re.finditer(r"(?im)^\s*(?:dis)?allow\s*:\s*(\S+)", body):
        p = m.group(1).replace("*", "x").rstrip("$")
        if p.startswith("/"):
            paths.append(p + ("page.html" if p.endswith("/") else ""))
    rng.shuffle(paths)
    return paths[:12]


def test_apertus_optout_equals_matcher_on_real_robots_files(corpora, tmp_path):
    real = corpora / "robots" / "real"
    rows = list(csv.DictReader((real / "INDEX.csv").open()))
    rng = random.Random(5)
    # hosts with AI-agent rules first, then others, so both outcomes occur
    ai = [r for r in rows if r["ai_agent_tokens"]]
    other = [r for r in rows if not r["ai_agent_tokens"]]
    chosen = rng.sample(ai, min(len(ai), N_HOSTS // 2)) + rng.sample(other, N_HOSTS // 2)
    robots_dir = tmp_path / "robots"
    robots_dir.mkdir()
    bodies = {}
    for r in chosen:
        host = r["host"]
        shutil.copy(real / r["file"], robots_dir / f"{host}.txt")  # a temporary import folder for the test
        bodies[host] = (real / r["file"]).read_bytes()
    # bad robots.txt bodies: binary junk, 5 MB, an HTML error page
    bad = {"junk.example": bytes(rng.randrange(256) for _ in range(4096)),
           "huge.example": b"User-agent: *\nDisallow: /tmp/\n" + b"# padding\n" * 520_000,
           "html.example": b"<html><head><title>Error</title></head><body>Oops</body></html>"}
    for host, body in bad.items():
        (robots_dir / f"{host}.txt").write_bytes(body)
        bodies[host] = body
    cache = tmp_path / "cache"
    run_cli("robots", "import", robots_dir, "--cache", cache, "--fetched-at", "2025-01-15")

    docs = []
    for host, body in sorted(bodies.items()):
        text = body.decode("utf-8", "replace")
        for i, path in enumerate(_paths_from_rules(text, rng)):
            docs.append({"text": " ".join(rng.sample(SENTENCES["en"], 3)), "id": f"{host}-{i}",
                         "dump": DUMPS[(len(docs)) % len(DUMPS)], "url": f"https://{host}{path}",
                         "date": "2020-01-01T00:00:00Z"})
    inp = tmp_path / "fineweb.parquet"
    pq.write_table(pa.Table.from_pylist(docs), inp)
    out = tmp_path / "out"
    run_cli("run", REPO / "pipelines" / "apertus.yaml", "--input", inp, "--robots-cache", cache, "--out", out,
            "--no-progress")

    agents = load_agents("apertus")
    parsed = {h: RobotsTxt.parse(b[:512_000]) for h, b in bodies.items()}
    con = connect(out)
    got = dict(con.execute("SELECT doc_id, coalesce(stage, '') = 'optout' FROM manifest").fetchall())
    assert len(got) == len(docs)
    mismatches = []
    for d in docs:
        host = d["url"].split("/")[2]
        expected_drop = bool(parsed[host].blocked_agents(agents, d["url"]))
        if got[d["id"]] != expected_drop:
            mismatches.append((d["url"], expected_drop))
    assert not mismatches, mismatches[:10]
    n_drop = sum(got.values())
    assert 0 < n_drop < len(docs)
    dumps = {r[0] for r in con.execute("SELECT DISTINCT dump FROM manifest WHERE stage = 'optout'").fetchall()}
    assert len(dumps) == 12  # every crawl year is affected: the current file decides retroactively
    ev = json.loads(con.execute("SELECT detail FROM manifest WHERE reason = 'optout.robots' LIMIT 1").fetchone()[0])
    assert ev["optout"]["agents"][0]["line"] >= 1 and ev["optout"]["snapshot"]["sha256"]
