"""The bundled demo sample: SYNTHETIC documents, generated deterministically (seeded), never real
people's data. 6,000 FineWeb-style documents (text, id, dump, url, date) over 48 fictional hosts under the
reserved `.example` TLD, 12 Common Crawl dumps (2013-2024), in English, German, French, Italian and
Romansh, with planted personal data (e-mails, IPv4/IPv6, IBANs, phone and card numbers), toxic
passages, license statements (Creative Commons NC/ND pages, GPL and MIT code files) and a robots.txt
snapshot for the hosts covering full AI opt-outs, path-level opt-outs, `*`-only rules, 404, unreachable
and 5xx hosts, and the other reservations a robots cache holds: an AIPREF `Content-Usage` path rule, a
Cloudflare `Content-Signal` line and TDMRep files (`/.well-known/tdmrep.json`) reserving `/archive/`.

    python -m curate.sample OUT_DIR [--docs N]          # the corpus
    python -m curate.sample --robots robots_cache/demo   # the bundled robots snapshot
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20250115
DEFAULT_DOCS = 6000
REPO_ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT_DATE = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.timezone.utc)
HISTORY_DATE = dt.datetime(2019, 6, 1, 12, 0, tzinfo=dt.timezone.utc)

DUMPS = ["CC-MAIN-2013-20", "CC-MAIN-2014-15", "CC-MAIN-2015-14", "CC-MAIN-2016-07", "CC-MAIN-2017-04",
         "CC-MAIN-2018-05", "CC-MAIN-2019-04", "CC-MAIN-2020-05", "CC-MAIN-2021-04", "CC-MAIN-2022-05",
         "CC-MAIN-2023-06", "CC-MAIN-2024-10"]
LANGS = ["en", "de", "fr", "it", "rm"]
JSONL_DUMPS = {"CC-MAIN-2024-10"}  # one dump as jsonl, the rest parquet: both FineWeb readers are exercised

SENTENCES = {
    "en": [
        "The council met on Tuesday to discuss the new cycling lanes along the river.",
        "Our bakery has been making sourdough bread with local flour since 1987.",
        "The museum opens a new exhibition on early photography next month.",
        "Hikers should check the weather forecast before heading to the summit.",
        "The school library received a donation of two hundred books.",
        "Researchers measured the glacier's retreat over the past decade.",
        "The train timetable changes on the second Sunday of December.",
        "Volunteers planted trees in the park over the weekend.",
        "The recipe needs three eggs, a cup of milk and some butter.",
        "Local farmers reported a good harvest despite the dry summer.",
        "The orchestra will perform works by Mozart and Haydn this season.",
        "Residents can recycle glass, paper and batteries at the new centre.",
        "The football club announced the signing of a young goalkeeper.",
        "A new bridge will connect the two villages by the end of the year.",
        "The festival attracts thousands of visitors every summer.",
    ],
    "de": [
        "Der Gemeinderat hat am Dienstag über die neuen Velowege am Fluss beraten.",
        "Unsere Bäckerei backt seit 1987 Sauerteigbrot aus regionalem Mehl.",
        "Das Museum eröffnet nächsten Monat eine Ausstellung zur frühen Fotografie.",
        "Wanderer sollten vor dem Aufstieg den Wetterbericht prüfen.",
        "Die Schulbibliothek hat zweihundert Bücher geschenkt bekommen.",
        "Forschende haben den Rückgang des Gletschers im letzten Jahrzehnt gemessen.",
        "Der Fahrplan ändert sich am zweiten Sonntag im Dezember.",
        "Freiwillige haben am Wochenende im Park Bäume gepflanzt.",
        "Für das Rezept braucht man drei Eier, eine Tasse Milch und etwas Butter.",
        "Die Bauern melden trotz des trockenen Sommers eine gute Ernte.",
        "Das Orchester spielt in dieser Saison Werke von Mozart und Haydn.",
        "Im neuen Zentrum können Glas, Papier und Batterien entsorgt werden.",
        "Der Fussballclub hat einen jungen Torhüter verpflichtet.",
        "Eine neue Brücke soll die beiden Dörfer bis Ende Jahr verbinden.",
        "Das Festival zieht jeden Sommer Tausende von Besuchern an.",
    ],
    "fr": [
        "Le conseil communal s'est réuni mardi pour discuter des nouvelles pistes cyclables.",
        "Notre boulangerie fabrique du pain au levain avec de la farine locale depuis 1987.",
        "Le musée ouvre le mois prochain une exposition sur les débuts de la photographie.",
        "Les randonneurs doivent consulter la météo avant de monter au sommet.",
        "La bibliothèque de l'école a reçu un don de deux cents livres.",
        "Les chercheurs ont mesuré le recul du glacier au cours de la dernière décennie.",
        "L'horaire des trains change le deuxième dimanche de décembre.",
        "Des bénévoles ont planté des arbres dans le parc ce week-end.",
        "La recette demande trois œufs, une tasse de lait et un peu de beurre.",
        "Les agriculteurs annoncent une bonne récolte malgré l'été sec.",
        "L'orchestre jouera cette saison des œuvres de Mozart et de Haydn.",
        "Les habitants peuvent recycler le verre, le papier et les piles au nouveau centre.",
        "Le club de football a annoncé l'arrivée d'un jeune gardien.",
        "Un nouveau pont reliera les deux villages d'ici la fin de l'année.",
        "Le festival attire chaque été des milliers de visiteurs.",
    ],
    "it": [
        "Il consiglio comunale si è riunito martedì per discutere le nuove piste ciclabili.",
        "La nostra panetteria produce pane a lievito madre con farina locale dal 1987.",
        "Il museo apre il mese prossimo una mostra sulla prima fotografia.",
        "Gli escursionisti dovrebbero controllare il meteo prima di salire in vetta.",
        "La biblioteca della scuola ha ricevuto in dono duecento libri.",
        "I ricercatori hanno misurato il ritiro del ghiacciaio nell'ultimo decennio.",
        "L'orario dei treni cambia la seconda domenica di dicembre.",
        "Alcuni volontari hanno piantato alberi nel parco durante il fine settimana.",
        "La ricetta richiede tre uova, una tazza di latte e un po' di burro.",
        "Gli agricoltori segnalano un buon raccolto nonostante l'estate secca.",
        "L'orchestra eseguirà quest'anno opere di Mozart e Haydn.",
        "I residenti possono riciclare vetro, carta e batterie nel nuovo centro.",
        "La squadra di calcio ha annunciato l'ingaggio di un giovane portiere.",
        "Un nuovo ponte collegherà i due villaggi entro la fine dell'anno.",
        "Il festival attira ogni estate migliaia di visitatori.",
    ],
    "rm": [
        "La suprastanza communala ha discutà mardi las novas vias da velo sper il flum.",
        "Nossa pasternaria fa paun cun farina indigena dapi l'onn 1987.",
        "Il museum avra il proxim mais ina exposiziun davart la fotografia veglia.",
        "Ils viandants duain controllar l'aura avant che ir sin il piz.",
        "La biblioteca da scola ha survegnì in regal da duatschient cudeschs.",
        "Ils perscrutaders han mesirà co che il glatscher è sa retratg.",
        "L'urari da la viafier mida la segunda dumengia da december.",
        "Voluntaris han plantà plantas en il parc durant la fin d'emna.",
        "La Lia Rumantscha promova la lingua e la cultura rumantscha en il Grischun.",
        "Ils purs annunzian ina buna racolta malgrà la stad sitga.",
        "L'orchester suna questa stagiun ovras da Mozart e Haydn.",
        "Las abitantas ed ils abitants pon reciclar vaider, palpiri e battarias.",
        "Il club da ballape ha engaschà in giuven portier.",
        "In nov punt vegn a colliar ils dus vitgs fin la fin da l'onn.",
        "Il festival attira mintga stad millis da visitaders.",
    ],
}

# Direct abuse and threats (toxic to a reader, not written for a word list), planted so the toxicity block has
# something to rank at the top. The shipped classifier has no Italian or Romansh training rows; it carries
# over through shared character n-grams, and weakly: the first Italian pair ("Sei uno stupido idiota e un
# coglione ...", "Vaffanculo, pezzo di merda, ti ammazzo.") scored below the 5% cut inside a document.
TOXIC = {
    "en": ["You are a stupid idiot and a worthless moron, shut the fuck up.",
           "Go to hell, you disgusting piece of shit, I will kill you."],
    "de": ["Du bist ein dummer Idiot und ein verdammtes Arschloch, halt die Fresse.",
           "Verpiss dich, du widerliches Stück Scheisse, ich bringe dich um."],
    "fr": ["Tu es un pauvre con et un sale connard, ferme ta gueule.",
           "Va te faire foutre, espèce de merde, je vais te tuer."],
    "it": ["Sei un idiota, un povero imbecille e un verme schifoso: nessuno ti vuole, sparisci.",
           "Brutto bastardo, sei solo un pezzo di merda e ti spacco la faccia."],
    "rm": ["Ti es in idiot, in bastard e in porc stupid, va a la merda.",
           "Ti stupid bastard, jau ta rump il culiez e ta mazzel."],
}

LICENSE_NOTICES = {
    "CC-BY-NC-SA-4.0": ("This article is licensed under a Creative Commons Attribution-NonCommercial-ShareAlike 4.0 "
                        "International License (https://creativecommons.org/licenses/by-nc-sa/4.0/)."),
    "CC-BY-ND-4.0": ("Content on this page is available under the Creative Commons Attribution-NoDerivatives 4.0 "
                     "International license: https://creativecommons.org/licenses/by-nd/4.0/"),
    "CC-BY-4.0": ("Text available under the Creative Commons Attribution 4.0 International License "
                  "(https://creativecommons.org/licenses/by/4.0/)."),
}

MIT_HEADER = """# SPDX-License-Identifier: MIT
# Copyright (c) {year} {author}
#
# Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
# associated documentation files (the "Software"), to deal in the Software without restriction.
"""
GPL_HEADER = """/*
 * Copyright (C) {year} {author}
 *
 * This program is free software; you can redistribute it and/or modify it under the terms of the GNU
 * General Public License as published by the Free Software Foundation; either version 3 of the License,
 * or (at your option) any later version.
 */
"""
CODE_BODIES = {
    ".py": "def {name}(values):\n    total = 0\n    for v in values:\n        total += v * {k}\n    return total\n\n\nif __name__ == '__main__':\n    print({name}([1, 2, 3]))\n",
    ".c": "#include <stdio.h>\n\nint {name}(int n) {{\n    int s = 0;\n    for (int i = 0; i < n; i++) s += i * {k};\n    return s;\n}}\n\nint main(void) {{\n    printf(\"%d\\n\", {name}(10));\n    return 0;\n}}\n",
}

# Robots categories, assigned to hosts in turn. Each is (label, HTTP status or None, error, body).
ROBOTS = [
    ("allow-all", 200, None, "User-agent: *\nAllow: /\n\nSitemap: https://{host}/sitemap.xml\n"),
    ("ai-full-optout", 200, None,
     "# We do not consent to AI training.\nUser-agent: GPTBot\nUser-agent: CCBot\nUser-agent: Google-Extended\n"
     "Disallow: /\n\nUser-agent: ClaudeBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n"),
    ("ai-path-optout", 200, None,
     "User-agent: *\nDisallow: /admin/\n\nUser-agent: GPTBot\nCrawl-delay: 10\nDisallow: /news/\nAllow: /news/public/\n"),
    ("star-only-aipref", 200, None,  # IETF AIPREF: no AI training on /events/ only
     "User-agent: *\nDisallow: /private/\nDisallow: /*.pdf$\nContent-Usage: /events/ train-ai=n\n"),
    ("not-found", 404, None, "<html><body><h1>404 Not Found</h1></body></html>"),
    ("unreachable", None, "connection_refused", ""),
    ("server-error", 503, None, "<html><body>Service Unavailable</body></html>"),
    ("allow-all-content-signal", 200, None,  # Cloudflare's Content Signals: search yes, AI training no
     "User-agent: *\nCrawl-delay: 5\nContent-Signal: search=yes, ai-train=no\nDisallow:\n"),
    ("versioned-agent-bom-crlf", 200, None,
     "\ufeffUser-agent: CCBot/2.0\r\nDisallow: /archive/\r\n\r\nUser-agent: Googlebot\r\nDisallow:\r\n"),
    ("not-cached", None, None, None),
]
CODE_CRAWL_DELAY = ("allow-all-crawl-delay", 200, None, "User-agent: *\nCrawl-delay: 5\nDisallow:\n")
PATHS = ["news", "news/public", "blog", "archive", "private", "about", "events", "admin", "docs"]
HOST_WORDS = {
    "en": ["riverside-gazette", "northfield-bakery", "harbour-museum", "summit-trails", "oakwood-school",
           "glacier-watch", "railway-times", "greenpark-volunteers", "kitchen-notes", "valley-farmers"],
    "de": ["alpenpost", "seeblick-baeckerei", "stadtmuseum-bern", "wanderweg", "schulhaus-linde",
           "gletscher-forschung", "fahrplan-info", "stadtgarten", "rezeptwelt", "bauernzeitung"],
    "fr": ["gazette-du-lac", "boulangerie-leman", "musee-photo", "sentiers-alpins", "ecole-des-pins",
           "glaciers-suisses", "horaires-cff", "parc-et-jardins", "cuisine-facile", "terroir-romand"],
    "it": ["gazzetta-ticinese", "panetteria-lugano", "museo-fotografia", "sentieri-alpini", "scuola-ronco",
           "ghiacciai-oggi", "orari-treni", "parco-civico", "ricette-nonna", "agricoltura-ti"],
    "rm": ["la-quotidiana", "pasternaria-cuira", "museum-retic", "sendas-grischun", "scola-sursilvana"],
}
CODE_HOSTS = ["code.alpenforge.example", "git.lakeside-dev.example", "src.montagna-lab.example"]
LANG_TLD = {"en": "example", "de": "example", "fr": "example", "it": "example", "rm": "example"}
FIRST = ["anna", "luca", "marie", "jonas", "giulia", "pierre", "sara", "men", "flurina", "tom", "lea", "marco"]
LAST = ["muster", "rossi", "dubois", "meier", "bianchi", "martin", "caduff", "smith", "weber", "cathomen"]
MAIL_DOMAINS = ["gmail.com", "bluewin.ch", "gmx.de", "orange.fr", "libero.it", "outlook.com", "proton.me"]
PHONE_REGION = {"en": "GB", "de": "DE", "fr": "FR", "it": "IT", "rm": "CH"}
IBAN_LAYOUT = {"CH": "5n12c", "DE": "8n10n", "FR": "5n5n11c2n", "IT": "1a5n5n12c", "GB": "4a6n8n"}


def hosts() -> list[tuple[str, str]]:
    """(host, language) for every web host, in a fixed order."""
    out = []
    for lang in LANGS:
        for w in HOST_WORDS[lang]:
            out.append((f"www.{w}.{LANG_TLD[lang]}", lang))
    return out


def robots_category(i: int) -> tuple:
    return ROBOTS[i % len(ROBOTS)]


# -- planted personal data ----------------------------------------------------------------------------
def _iban(rng: random.Random, country: str) -> str:
    bban = ""
    for part in __import__("re").findall(r"(\d+)([nac])", IBAN_LAYOUT[country]):
        n, kind = int(part[0]), part[1]
        alphabet = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                    "c": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}[kind]
        bban += "".join(rng.choice(alphabet) for _ in range(n))
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(digits) % 97
    iban = f"{country}{check:02d}{bban}"
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)) if rng.random() < 0.5 else iban


def _luhn_card(rng: random.Random) -> str:
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    return " ".join(s[i:i + 4] for i in range(0, 16, 4))


def _phone(rng: random.Random, region: str) -> str:
    import phonenumbers

    ex = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.FIXED_LINE)
    for _ in range(50):
        national = str(ex.national_number)
        national = national[:-3] + "".join(str(rng.randrange(10)) for _ in range(3))
        num = phonenumbers.parse(f"+{ex.country_code}{national}")
        if phonenumbers.is_valid_number(num):
            return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(ex, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


PII_TEMPLATES = {
    "email": {"en": "Contact {v} for details.", "de": "Kontakt: {v}", "fr": "Écrivez à {v} pour en savoir plus.",
              "it": "Per informazioni scrivete a {v}.", "rm": "Contact: {v}"},
    "ipv4": {"en": "The server at {v} was down for an hour.", "de": "Der Server {v} war eine Stunde offline.",
             "fr": "Le serveur {v} était hors ligne.", "it": "Il server {v} non rispondeva.", "rm": "Il server {v} na funcziunava betg."},
    "ipv6": {"en": "Connect to [{v}] on port 443.", "de": "Verbindung zu {v} herstellen.", "fr": "Adresse IPv6 : {v}",
             "it": "Indirizzo IPv6: {v}", "rm": "Adressa IPv6: {v}"},
    "iban": {"en": "Donations to IBAN {v}, thank you.", "de": "Spenden bitte auf IBAN {v}.", "fr": "Dons sur l'IBAN {v}.",
             "it": "Donazioni sull'IBAN {v}.", "rm": "Donaziuns sin l'IBAN {v}."},
    "phone": {"en": "Call us on {v}.", "de": "Telefon: {v}", "fr": "Téléphone : {v}", "it": "Telefono: {v}", "rm": "Telefon: {v}"},
    "card": {"en": "Card number {v} was used for the order.", "de": "Kartennummer {v}", "fr": "Carte n° {v}",
             "it": "Numero di carta {v}", "rm": "Numer da carta {v}"},
}


def _pii_sentence(rng: random.Random, lang: str) -> tuple[str, str]:
    kind = rng.choice(list(PII_TEMPLATES))
    if kind == "email":
        v = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.randrange(100)}@{rng.choice(MAIL_DOMAINS)}"
    elif kind == "ipv4":
        v = f"{rng.choice([192, 198, 203, 81, 85])}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    elif kind == "ipv6":
        v = f"2001:db8:{rng.randrange(65536):x}:{rng.randrange(65536):x}::{rng.randrange(1, 65536):x}"
    elif kind == "iban":
        v = _iban(rng, {"en": "GB", "de": "DE", "fr": "FR", "it": "IT", "rm": "CH"}[lang] if rng.random() < 0.7 else rng.choice(list(IBAN_LAYOUT)))
    elif kind == "phone":
        v = _phone(rng, PHONE_REGION[lang])
    else:
        v = _luhn_card(rng)
    return kind, PII_TEMPLATES[kind][lang].format(v=v)


# -- documents ---------------------------------------------------------------------------------------
def _date_in(rng: random.Random, dump: str) -> str:
    year, week = int(dump[8:12]), int(dump[13:15])
    day = dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(weeks=week - 1, days=rng.randrange(7),
                                                                            seconds=rng.randrange(86400))
    return day.strftime("%Y-%m-%dT%H:%M:%SZ")


def _web_doc(rng: random.Random, host: str, lang: str, dump: str) -> dict:
    n = rng.randint(3, 9)
    sents = [rng.choice(SENTENCES[lang]) for _ in range(n)]
    planted = []
    if rng.random() < 0.25:
        kind, s = _pii_sentence(rng, lang)
        sents.insert(rng.randrange(len(sents) + 1), s)
        planted.append(kind)
    if rng.random() < 0.03:
        sents.insert(rng.randrange(len(sents) + 1), rng.choice(TOXIC[lang]))
        planted.append("toxic")
    r = rng.random()
    if r < 0.03:
        sents.append(LICENSE_NOTICES["CC-BY-NC-SA-4.0"])
        planted.append("CC-BY-NC-SA-4.0")
    elif r < 0.05:
        sents.append(LICENSE_NOTICES["CC-BY-ND-4.0"])
        planted.append("CC-BY-ND-4.0")
    elif r < 0.08:
        sents.append(LICENSE_NOTICES["CC-BY-4.0"])
        planted.append("CC-BY-4.0")
    paras = []
    while sents:
        k = rng.randint(1, 3)
        paras.append(" ".join(sents[:k]))
        sents = sents[k:]
    path = f"/{rng.choice(PATHS)}/{rng.randrange(10**6):06d}-{lang}.html"
    return {"text": "\n\n".join(paras), "url": f"https://{host}{path}", "planted": planted}


def _code_doc(rng: random.Random, host: str) -> dict:
    ext = rng.choice(list(CODE_BODIES))
    name = f"compute_{rng.choice(['sum', 'score', 'total', 'weight'])}_{rng.randrange(1000)}"
    body = CODE_BODIES[ext].format(name=name, k=rng.randint(2, 9))
    author = f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}"
    r = rng.random()
    if r < 0.45:
        header, planted = MIT_HEADER.format(year=rng.randint(2010, 2024), author=author), "MIT"
        if ext == ".c":
            header = "/* SPDX-License-Identifier: MIT */\n" + "".join(
                " * " + line[2:] + "\n" if line.startswith("# ") else "" for line in header.splitlines()[1:])
            header = "/*\n" + header + " */\n"
    elif r < 0.8:
        header, planted = GPL_HEADER.format(year=rng.randint(2010, 2024), author=author), "GPL-3.0-or-later"
        if ext == ".py":
            header = "".join("# " + line.lstrip("/* ").rstrip("*/") + "\n" for line in header.splitlines() if line.strip("/* "))
    else:
        header, planted = "", "none"
    path = f"/{rng.choice(['tools', 'lib', 'core'])}/{rng.choice(['src', 'pkg'])}/{name}{ext}"
    return {"text": header + "\n" + body, "url": f"https://{host}{path}", "planted": [f"code:{planted}"]}


def generate(n_docs: int = DEFAULT_DOCS, seed: int = SEED) -> dict[str, list[dict]]:
    """Documents by dump, deterministic for (n_docs, seed)."""
    rng = random.Random(seed)
    web = hosts()
    by_dump: dict[str, list[dict]] = {d: [] for d in DUMPS}
    for i in range(n_docs):
        dump = DUMPS[i % len(DUMPS)]
        if rng.random() < 0.05:
            doc = _code_doc(rng, rng.choice(CODE_HOSTS))
        else:
            host, lang = rng.choice(web)
            doc = _web_doc(rng, host, lang, dump)
        doc.update(id=f"<urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}>", dump=dump,
                   date=_date_in(rng, dump))
        by_dump[dump].append(doc)
    return by_dump


def build_sample(out_dir: str | os.PathLike, n_docs: int = DEFAULT_DOCS, seed: int = SEED) -> list[Path]:
    """Write the corpus (one file per dump) plus `truth.jsonl` with what was planted in each document."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    truth = []
    for dump, docs in generate(n_docs, seed).items():
        rows = [{"text": d["text"], "id": d["id"], "dump": d["dump"], "url": d["url"], "date": d["date"]} for d in docs]
        truth.extend({"id": d["id"], "planted": d["planted"]} for d in docs)
        if dump in JSONL_DUMPS:
            p = out / f"{dump}.jsonl"
            p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        else:
            p = out / f"{dump}.parquet"
            pq.write_table(pa.Table.from_pylist(rows), p, compression="zstd")
        paths.append(p)
    (out.parent / f"{out.name}.truth.jsonl").write_text("".join(json.dumps(t) + "\n" for t in truth))
    return paths


def robots_snapshots() -> list:
    """The demo's robots.txt snapshot (January 2025, as Apertus), plus a 2019 history for a few hosts."""
    snaps = []
    web = [h for h, _ in hosts()]
    # code hosts get permissive robots.txt files, so the license stage decides their files
    plan = [(h, robots_category(i)) for i, h in enumerate(web)] + list(zip(CODE_HOSTS, (ROBOTS[0], CODE_CRAWL_DELAY, ROBOTS[3])))
    for i, (host, (label, status, error, body)) in enumerate(plan):
        if body is None:  # not in the cache at all
            continue
        raw = body.format(host=host).encode("utf-8") if body else b""
        snaps.append(_snap(host, SNAPSHOT_DATE, status, error, raw))
        if label == "ai-full-optout" and i % 2 == 1:  # history: in 2019 the site allowed everything
            snaps.append(_snap(host, HISTORY_DATE, 200, None, b"User-agent: *\nDisallow:\n"))
        if label == "allow-all" and host not in CODE_HOSTS:  # W3C TDMRep: rights reserved on /archive/
            snaps.append(_snap(host, SNAPSHOT_DATE, 200, None, TDMREP.format(host=host).encode(), kind="tdmrep"))
    return snaps


TDMREP = ('[{{"location": "/archive/", "tdm-reservation": 1, "tdm-policy": "https://{host}/tdm-policy.json"}},'
          ' {{"location": "/", "tdm-reservation": 0}}]')


def _snap(host, when, status, error, body: bytes, kind: str = "robots"):
    from curate.robots.cache import snapshot_from_body

    name = "robots.txt" if kind == "robots" else ".well-known/tdmrep.json"
    return snapshot_from_body("https", host, body, when, status=status, error=error, kind=kind,
                              final_url=None if error else f"https://{host}/{name}")




def write_robots_cache(path: str | os.PathLike) -> Path:
    from curate.robots.cache import RobotsCache

    Path(path).mkdir(parents=True, exist_ok=True)
    return RobotsCache(path).append(robots_snapshots())


def demo_pipeline_path() -> Path:
    p = REPO_ROOT / "pipelines" / "demo.yaml"
    if not p.exists():
        raise FileNotFoundError(f"{p} not found: run the demo from a checkout of curate")
    return p


def demo_robots_cache(out_dir: str | os.PathLike) -> Path:
    """The bundled snapshot (robots_cache/demo) when present, else a fresh copy generated into OUT."""
    bundled = REPO_ROOT / "robots_cache" / "demo"
    if bundled.is_dir() and any(bundled.glob("*.parquet")):
        return bundled
    target = Path(out_dir) / "robots_cache"
    if not any(target.glob("*.parquet")):
        write_robots_cache(target)
    return target


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Generate curate's synthetic demo sample.")
    ap.add_argument("out", nargs="?", help="corpus directory")
    ap.add_argument("--docs", type=int, default=DEFAULT_DOCS)
    ap.add_argument("--robots", help="write the robots snapshot to this cache directory")
    a = ap.parse_args()
    if a.out:
        print("\n".join(map(str, build_sample(a.out, a.docs))))
    if a.robots:
        print(write_robots_cache(a.robots))
