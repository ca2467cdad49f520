"""PII: curate.pii against Presidio's pattern recognizers (NoOp NLP engine) and Apertus' three regexes.

Three parts, all in one process:
1. Speed on ~3.4 KB documents (generated, seeded; for speed only): "dense" documents are made only of
   sentences full of numbers (dates, amounts, versions, order numbers, times, ``::``) with planted PII;
   "web" documents are plain sentences (curate.sample's) with one sentence in five from the dense set.
   Rows: curate.pii.redact with the five default types and with Apertus' three (e-mail, IP, IBAN);
   Presidio's AnalyzerEngine (NoOp NLP, the same pattern recognizers; detection only, no anonymizer, so
   the comparison leans towards Presidio) for the same types; Apertus' regexes (datatrove's PIIFormatter
   for e-mail and IPv4 plus a space-grouped IBAN regex, as bench_pipeline rebuilds them). Documents per
   CPU second (time.process_time), median over repeats; the systems run in turn within each repeat.
2. F1 per type on the external recognizer cases (../shared/corpora/pii: Presidio's own recognizer tests,
   python-stdnum's IBANs), curate vs Presidio's recognizer for that type (vs Apertus' regex for its
   three), exact spans.
3. The older generated short-document corpus (planted spans as truth) with precision/recall/F1.

    .venv/bin/python bench/bench_pii.py [--docs 2000] [--long-docs 200] [--repeats 3] [--seed 7] [--quick]
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import re
import statistics
import string
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import phonenumbers

from curate.pii import DEFAULT_TYPES, find_pii, redact, regions_for
from curate.pii.cards import luhn_ok
from curate.pii.iban import _BBAN_SPEC, mod97_ok

LANGUAGES = ("en", "de", "fr", "it", "es", "rm")
APERTUS_TYPES = ("EMAIL_ADDRESS", "IP_ADDRESS", "IBAN_CODE")
REPO = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("CURATE_SHARED", REPO.parent / "shared")) / "corpora" / "pii"
Span = tuple[str, int, int]

PROSE = {
    "en": ["The committee met on 12 March 2021 to review the budget of $1,250,000.",
           "Version v2.4.1.7 of the library fixes the bug reported in 2019.",
           "Doors open at 19:30 and the show lasts 2 hours; tickets cost 35.50 USD.",
           "In Haskell you write `length :: [a] -> Int` and move on.",
           "Our order number is 4711-0815 and the ISBN is 978-3-16-148410-0.",
           "Temperatures rose by 1.5 degrees between 1990 and 2020.",
           "Read chapter 3.2.1 before the seminar at 10:15."],
    "de": ["Die Sitzung fand am 12.03.2021 statt, das Budget betrug 1.250.000 Euro.",
           "Version v3.1.0.2 behebt den Fehler aus dem Jahr 2019.",
           "Einlass ist um 19:30 Uhr, der Eintritt kostet 35,50 EUR.",
           "Die Bestellnummer lautet 2024-117-88 und die Lieferung kommt in 3 Tagen.",
           "Der Zug nach Bern fährt um 08:12 auf Gleis 7 ab.",
           "Im Jahr 1998 wurden 4.500 Bäume gepflanzt."],
    "fr": ["La réunion du 12/03/2021 a validé un budget de 1 250 000 euros.",
           "La version v1.0.4.3 corrige le problème signalé en 2019.",
           "Ouverture des portes à 19h30, l'entrée coûte 35,50 EUR.",
           "Le dossier numéro 2023-45-118 est en cours de traitement.",
           "Le train part à 08:12 du quai 7."],
    "it": ["La riunione del 12/03/2021 ha approvato un bilancio di 1.250.000 euro.",
           "La versione v5.2.0.1 risolve il problema del 2019.",
           "Le porte aprono alle 19:30, il biglietto costa 35,50 EUR.",
           "La pratica numero 2022/118/45 è in lavorazione."],
    "es": ["La reunión del 12/03/2021 aprobó un presupuesto de 1.250.000 euros.",
           "La versión v4.0.2.9 corrige el error de 2019.",
           "Las puertas abren a las 19:30 y la entrada cuesta 35,50 EUR.",
           "El expediente 2021-778-12 está en trámite."],
    "rm": ["La sessiun dals 12-03-2021 ha approvà in budget da 1'250'000 francs.",
           "La versiun v2.2.2.2 curregia il sbagl dal 2019.",
           "Il tren parta a las 08:12 da la binaria 7."],
}
# Sentences without numbers, for the "web" style of the long documents.
PLAIN = {
    "en": ["The council discussed the new cycling lanes along the river on Tuesday evening.",
           "Our bakery makes sourdough bread with flour from farms in the valley.",
           "Hikers should check the weather forecast before they set out for the summit.",
           "The museum opens an exhibition on early photography next month.",
           "Volunteers planted trees in the park and cleaned the paths over the weekend.",
           "The orchestra will perform works by Mozart and Haydn this season."],
    "de": ["Der Gemeinderat hat am Dienstag über die neuen Velowege am Fluss beraten.",
           "Unsere Bäckerei backt Sauerteigbrot aus regionalem Mehl.",
           "Wanderer sollten vor dem Aufstieg den Wetterbericht prüfen.",
           "Das Museum eröffnet nächsten Monat eine Ausstellung zur frühen Fotografie.",
           "Freiwillige haben am Wochenende im Park Bäume gepflanzt.",
           "Das Orchester spielt in dieser Saison Werke von Mozart und Haydn."],
    "fr": ["Le conseil a discuté mardi des nouvelles pistes cyclables le long de la rivière.",
           "Notre boulangerie fait du pain au levain avec de la farine locale.",
           "Les randonneurs doivent consulter la météo avant de partir vers le sommet.",
           "Le musée ouvre le mois prochain une exposition sur les débuts de la photographie.",
           "Des bénévoles ont planté des arbres dans le parc ce week-end."],
    "it": ["Il consiglio ha discusso martedì delle nuove piste ciclabili lungo il fiume.",
           "La nostra panetteria prepara pane a lievito madre con farina locale.",
           "Gli escursionisti dovrebbero controllare il meteo prima di salire in vetta.",
           "Il museo apre il mese prossimo una mostra sulla fotografia delle origini.",
           "Alcuni volontari hanno piantato alberi nel parco durante il fine settimana."],
    "es": ["El consejo debatió el martes los nuevos carriles bici junto al río.",
           "Nuestra panadería hace pan de masa madre con harina de la comarca.",
           "Los excursionistas deben consultar el tiempo antes de subir a la cumbre.",
           "El museo abre el mes que viene una exposición sobre los inicios de la fotografía.",
           "Unos voluntarios plantaron árboles en el parque el fin de semana."],
    "rm": ["Il cussegl da vischnanca ha discutà mardi davart las novas vias da velo.",
           "Nossa furnaria fa paun cun farina da la regiun.",
           "Ils viandants duessan controllar l'aura avant che ir sin il piz.",
           "Il museum avra il proxim mais ina exposiziun davart la fotografia.",
           "Voluntaris han plantà plantas en il parc la fin d'emna."],
}
LEAD = {
    "EMAIL_ADDRESS": {"en": "Write to {} for details.", "de": "Schreiben Sie an {} für Details.",
                      "fr": "Écrivez à {} pour les détails.", "it": "Scrivete a {} per i dettagli.",
                      "es": "Escriba a {} para más detalles.", "rm": "Scrivai a {} per detagls."},
    "PHONE_NUMBER": {"en": "Call us at {} any time.", "de": "Rufen Sie uns unter {} an.",
                     "fr": "Appelez-nous au {} à tout moment.", "it": "Chiamateci al {} in qualsiasi momento.",
                     "es": "Llámenos al {} cuando quiera.", "rm": "Telefonai al {} cura che Vus vulais."},
    "IBAN_CODE": {"en": "Please transfer the fee to {} by Friday.", "de": "Bitte überweisen Sie auf {} bis Freitag.",
                  "fr": "Veuillez virer sur {} avant vendredi.", "it": "Si prega di versare su {} entro venerdì.",
                  "es": "Transfiera a {} antes del viernes.", "rm": "Pajai p.pl. sin {} fin venderdi."},
    "CREDIT_CARD": {"en": "The card {} was charged.", "de": "Die Karte {} wurde belastet.",
                    "fr": "La carte {} a été débitée.", "it": "La carta {} è stata addebitata.",
                    "es": "Se cargó la tarjeta {}.", "rm": "La carta {} è vegnida debitada."},
    "IP_ADDRESS": {"en": "The request came from {} yesterday.", "de": "Die Anfrage kam gestern von {}.",
                   "fr": "La requête venait de {} hier.", "it": "La richiesta veniva da {} ieri.",
                   "es": "La petición vino de {} ayer.", "rm": "La dumonda vegniva da {} ier."},
}
NAMES = ["anna", "marco", "lea", "jean", "sofia", "luca", "noah", "mia", "pablo", "zoe"]
DOMAINS = ["example.com", "uni-bern.ch", "posteo.de", "mail.example.fr", "azienda.it", "correo.es",
           "bluewin.ch", "example.co.uk"]
IBAN_COUNTRIES = ("DE", "CH", "FR", "IT", "GB", "NL", "ES", "AT", "BE", "LI")


def make_iban(rng: random.Random) -> str:
    """A valid IBAN (random BBAN in the country's structure, correct check digits)."""
    cc = rng.choice(IBAN_COUNTRIES)
    bban = ""
    for count, kind in re.findall(r"(\d+)([nac])", _BBAN_SPEC[cc]):
        pool = {"n": string.digits, "a": string.ascii_uppercase, "c": string.digits + string.ascii_uppercase}[kind]
        bban += "".join(rng.choice(pool) for _ in range(int(count)))
    if cc == "ES":  # national CCC check digits
        w = (1, 2, 4, 8, 5, 10, 9, 7, 3, 6)

        def dc(digits: str) -> str:
            v = 11 - sum(a * int(b) for a, b in zip(w, digits)) % 11
            return str({11: 0, 10: 1}.get(v, v))

        bban = bban[:8] + dc("00" + bban[:8]) + dc(bban[10:]) + bban[10:]
    check = 98 - int("".join(str(int(ch, 36)) for ch in bban + cc + "00")) % 97
    iban = f"{cc}{check:02d}{bban}"
    assert mod97_ok(iban)
    if rng.random() < 0.5:
        return iban
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def make_card(rng: random.Random) -> str:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("37", 15), ("6011", 16)])
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    number = next(body + d for d in string.digits if luhn_ok(body + d))
    if rng.random() < 0.5:
        return number
    if length == 15:
        return f"{number[:4]} {number[4:10]} {number[10:]}"
    return " ".join(number[i:i + 4] for i in range(0, 16, 4))


def make_phone(rng: random.Random, language: str) -> str:
    region = rng.choice(regions_for(language)[:2])
    kind = rng.choice([phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE])
    example = phonenumbers.example_number_for_type(region, kind)
    national = str(example.national_number)
    for _ in range(50):
        keep = max(3, len(national) - 4)
        candidate = national[:keep] + "".join(rng.choice(string.digits) for _ in range(len(national) - keep))
        number = phonenumbers.parse(candidate, region)
        if phonenumbers.is_valid_number(number):
            break
    else:
        number = example
    fmt = rng.choice([phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL])
    return phonenumbers.format_number(number, fmt)


def make_ip(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6:
        return str(ipaddress.IPv4Address(rng.randrange(1 << 24, 223 << 24)))
    if roll < 0.8:
        return f"192.168.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    return ipaddress.IPv6Address((0x2A00 << 112) | rng.getrandbits(100)).compressed


def make_email(rng: random.Random) -> str:
    return f"{rng.choice(NAMES)}.{rng.choice(NAMES)}{rng.randrange(100)}@{rng.choice(DOMAINS)}"


MAKERS: dict[str, Callable[[random.Random, str], str]] = {
    "EMAIL_ADDRESS": lambda rng, lang: make_email(rng),
    "IP_ADDRESS": lambda rng, lang: make_ip(rng),
    "IBAN_CODE": lambda rng, lang: make_iban(rng),
    "CREDIT_CARD": lambda rng, lang: make_card(rng),
    "PHONE_NUMBER": make_phone,
}


def make_corpus(n_docs: int, seed: int) -> list[tuple[str, str, list[Span]]]:
    """Documents as (language, text, planted spans); about 40% of documents hold no PII at all."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n_docs):
        lang = rng.choice(LANGUAGES)
        parts: list[str] = []
        truth: list[Span] = []
        pos = 0
        n_pii = 0 if rng.random() < 0.4 else rng.randint(1, 3)
        sentences: list[str | tuple[str, str]] = [rng.choice(PROSE[lang]) for _ in range(rng.randint(3, 12))]
        for _ in range(n_pii):
            kind = rng.choice(DEFAULT_TYPES)
            sentences.insert(rng.randrange(len(sentences) + 1), (kind, MAKERS[kind](rng, lang)))
        for item in sentences:
            if isinstance(item, tuple):
                kind, value = item
                before, after = LEAD[kind][lang].split("{}")
                start = pos + len(before)
                truth.append((kind, start, start + len(value)))
                sentence = before + value + after
            else:
                sentence = item
            parts.append(sentence + " ")
            pos += len(sentence) + 1
        docs.append((lang, "".join(parts), truth))
    return docs


def presidio_engine():
    """AnalyzerEngine with the NoOp NLP engine and the same pattern recognizers, per language."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer, EmailRecognizer, IbanRecognizer, IpRecognizer, PhoneRecognizer)

    registry = RecognizerRegistry(supported_languages=list(LANGUAGES))
    for lang in LANGUAGES:
        for recognizer in (EmailRecognizer, IpRecognizer, IbanRecognizer, CreditCardRecognizer):
            registry.add_recognizer(recognizer(supported_language=lang))
        registry.add_recognizer(PhoneRecognizer(supported_language=lang,
                                                supported_regions=regions_for(lang)))
    nlp = NoOpNlpEngine(models=[{"lang_code": lang, "model_name": "none"} for lang in LANGUAGES])
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=list(LANGUAGES))


def presidio_find(engine) -> Callable[[str, str], list[Span]]:
    def run(text: str, lang: str) -> list[Span]:
        results = engine.analyze(text=text, language=lang, entities=list(DEFAULT_TYPES))
        # Same overlap policy as ours: longer first, then higher score.
        ranked = sorted(results, key=lambda r: (-(r.end - r.start), -r.score, r.start))
        kept: list[Span] = []
        for r in ranked:
            if all(r.end <= s or r.start >= e for _, s, e in kept):
                kept.append((r.entity_type, r.start, r.end))
        return sorted(kept, key=lambda s: s[1])
    return run


def score(predicted: list[list[Span]], truth: list[list[Span]]) -> tuple[float, float, float, Counter]:
    tp = fp = fn = 0
    misses: Counter = Counter()
    for pred, gold in zip(predicted, truth):
        p, g = set(pred), set(gold)
        tp += len(p & g)
        fp += len(p - g)
        fn += len(g - p)
        misses.update(f"fn:{k}" for k, _, _ in g - p)
        misses.update(f"fp:{k}" for k, _, _ in p - g)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, misses


def timed_pass(find: Callable[[str, str], list[Span]], docs) -> tuple[float, list[list[Span]]]:
    """One pass over the corpus: docs per second of process CPU time (robust to other processes on a
    shared machine) and the predictions."""
    t0 = time.process_time()
    out = [find(text, lang) for lang, text, _ in docs]
    return len(docs) / (time.process_time() - t0), out


# --- 1. speed on ~3.4 KB documents -------------------------------------------------------------------

def make_long_corpus(n_docs: int, seed: int, style: str, size: int = 3400) -> list[tuple[str, str]]:
    """(language, text) documents of about ``size`` characters, each with 1-4 planted PII sentences.

    ``style`` "dense": every sentence from PROSE (numbers everywhere, about 17% of the characters are
    digits: the worst case for the digit scans); "web": PLAIN sentences with one in five from PROSE
    (about 4% digits)."""
    rng = random.Random(seed)
    langs = LANGUAGES
    docs = []
    for _ in range(n_docs):
        lang = rng.choice(langs)
        sentences: list[str] = []
        while sum(map(len, sentences)) + len(sentences) < size:
            if style == "dense" or rng.random() < 0.2:
                sentences.append(rng.choice(PROSE[lang]))
            else:
                sentences.append(rng.choice(PLAIN[lang]))
        for _ in range(rng.randint(1, 4)):
            kind = rng.choice(DEFAULT_TYPES)
            value = MAKERS[kind](rng, lang)
            sentences[rng.randrange(len(sentences))] = LEAD[kind][lang].format(value)
        docs.append((lang, " ".join(sentences)))
    return docs


class ApertusRegexes:
    """Apertus' three replacements: e-mail and IPv4 as datatrove's PIIFormatter, IBAN space-grouped."""

    def __init__(self):
        from datatrove.pipeline.formatters.pii import PIIFormatter

        self.base = PIIFormatter(only_remove_public_ips=False, email_replacement="<email-pii>",
                                 ip_replacement="<ip-pii>")
        self.iban = re.compile(r"\b[A-Z]{2}\d{2}(?: [0-9A-Z]{4}){3,7}(?: [0-9A-Z]{1,3})?\b")

    def redact(self, text: str) -> str:
        return self.iban.sub("<iban-pii>", self.base.format(text))

    def spans(self, text: str, kind: str) -> list[tuple[int, int]]:
        if kind == "EMAIL_ADDRESS":
            return [m.span() for m in self.base.emails_replacer.regex.finditer(text)]
        if kind == "IP_ADDRESS":
            replacer = self.base.ip_replacer
            return [m.span() for m in replacer.regex.finditer(text) if replacer.validator(m.group())]
        return [m.span() for m in self.iban.finditer(text)]


def cpu_rate(run: Callable[[str, str], object], docs: list[tuple[str, str]]) -> float:
    """Documents per second of process CPU time for one pass."""
    t0 = time.process_time()
    for lang, text in docs:
        run(text, lang)
    return len(docs) / (time.process_time() - t0)


def speed_rows(docs: list[tuple[str, str]], repeats: int, engine) -> dict[str, float]:
    apertus = ApertusRegexes()
    systems: dict[str, Callable[[str, str], object]] = {
        "curate, 5 types": lambda text, lang: redact(text, lang),
        "curate, 3 Apertus types": lambda text, lang: redact(text, lang, types=APERTUS_TYPES),
        "Presidio (NoOp NLP), 5 types": lambda text, lang: engine.analyze(
            text=text, language=lang, entities=list(DEFAULT_TYPES)),
        "Presidio (NoOp NLP), 3 Apertus types": lambda text, lang: engine.analyze(
            text=text, language=lang, entities=list(APERTUS_TYPES)),
        "Apertus regexes (their 3 types)": lambda text, lang: apertus.redact(text),
    }
    for run in systems.values():  # one untimed pass: lazy set-up (regex compilation, each phone region's
        cpu_rate(run, docs)       # metadata, the suffix list) stays out of the timing, for every system
    rates: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(repeats):
        for name, run in systems.items():
            rates[name].append(cpu_rate(run, docs))
    return {name: statistics.median(r) for name, r in rates.items()}


# --- 2. F1 per type on the external recognizer cases ------------------------------------------------

FAMILY_TYPE = {"email": "EMAIL_ADDRESS", "ip": "IP_ADDRESS", "iban": "IBAN_CODE", "phone": "PHONE_NUMBER",
               "credit_card": "CREDIT_CARD"}
PRESIDIO_PHONE_REGIONS = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")  # PhoneRecognizer's default


def external_cases() -> list[tuple[str, str, list[tuple[int, int]], dict]]:
    """(type, text, expected spans, phone options) from Presidio's recognizer tests and stdnum's IBANs
    (each IBAN as written, compact and grouped by four, bare and inside a sentence)."""
    cases = []
    for case in json.loads((CORPORA / "presidio_recognizer_cases.json").read_text(encoding="utf-8")):
        family = re.search(r"tests/test_(\w+?)_recognizer\.py", case["source"]).group(1)
        kind = FAMILY_TYPE.get(family)
        if kind is None:
            continue  # URL, crypto, US SSN, MAC: not types of ours
        options = case.get("presidio_phone_recognizer_options")
        phone = {}
        if options is not None:
            phone = {"regions": PRESIDIO_PHONE_REGIONS + tuple(options.get("extra_supported_regions", ())),
                     "leniency": options.get("leniency", 1)}
        expected = [(e["start"], e["end"]) for e in case["entities"] if e["type"] == kind]
        cases.append((kind, case["text"], expected, phone))
    stdnum = json.loads((CORPORA / "stdnum_iban_cases.json").read_text(encoding="utf-8"))["cases"]
    for case in stdnum:
        compact = re.sub(r"[ .\-]", "", case["iban"])
        grouped = " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
        for form in dict.fromkeys([case["iban"], compact, grouped]):
            for before, after in (("", ""), ("Bitte überweisen Sie an ", ", danke.")):
                span = [(len(before), len(before) + len(form))] if case["expected_valid"] else []
                cases.append(("IBAN_CODE", before + form + after, span, {}))
    return cases


def curate_spans(kind: str, text: str, phone: dict) -> list[tuple[int, int]]:
    kw = {"region": phone["regions"], "phone_leniency": phone["leniency"]} if phone else {}
    return [(s, e) for _, s, e in find_pii(text, types=[kind], **kw)]


def presidio_spans_fn() -> Callable[[str, str, dict], list[tuple[int, int]]]:
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer, EmailRecognizer, IbanRecognizer, IpRecognizer, PhoneRecognizer)

    fixed = {"EMAIL_ADDRESS": EmailRecognizer(), "IP_ADDRESS": IpRecognizer(), "IBAN_CODE": IbanRecognizer(),
             "CREDIT_CARD": CreditCardRecognizer(), "PHONE_NUMBER": PhoneRecognizer()}
    phones: dict[tuple, object] = {}

    def spans(kind: str, text: str, phone: dict) -> list[tuple[int, int]]:
        recognizer = fixed[kind]
        if kind == "PHONE_NUMBER" and phone:
            key = (phone["regions"], phone["leniency"])
            if key not in phones:
                phones[key] = PhoneRecognizer(supported_regions=key[0], leniency=key[1])
            recognizer = phones[key]
        results = recognizer.analyze(text, [kind], None)
        # Same overlap policy as curate: the longer span wins.
        kept: list[tuple[int, int]] = []
        for r in sorted(results, key=lambda r: (-(r.end - r.start), -r.score, r.start)):
            if all(r.end <= s or r.start >= e for s, e in kept):
                kept.append((r.start, r.end))
        return sorted(kept)
    return spans


def f1_by_type(cases, spans_of: Callable[[str, str, dict], list[tuple[int, int]]],
               types=DEFAULT_TYPES) -> dict[str, tuple[int, int, int]]:
    """(tp, fp, fn) per type, exact spans."""
    counts = {kind: [0, 0, 0] for kind in types}
    for kind, text, expected, phone in cases:
        if kind not in counts:
            continue
        found, gold = set(spans_of(kind, text, phone)), set(expected)
        c = counts[kind]
        c[0] += len(found & gold)
        c[1] += len(found - gold)
        c[2] += len(gold - found)
    return {kind: tuple(c) for kind, c in counts.items()}


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=2000, help="short generated documents (part 3)")
    ap.add_argument("--long-docs", type=int, default=200, help="~3.4 KB documents per style (part 1)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="60 long and 300 short documents, 1 repeat")
    ap.add_argument("--f1-only", action="store_true", help="only part 2 (external cases)")
    args = ap.parse_args()
    if args.quick:
        args.docs, args.long_docs, args.repeats = 300, 60, 1

    # Part 2 first: it needs no engine and is what --f1-only prints.
    cases = external_cases()
    ours = f1_by_type(cases, curate_spans)
    theirs = f1_by_type(cases, presidio_spans_fn())
    apertus = ApertusRegexes()
    regexes = f1_by_type(cases, lambda kind, text, phone: apertus.spans(text, kind), APERTUS_TYPES)
    print(f"\n### F1 per type on the external cases ({len(cases)} cases: Presidio's recognizer tests, "
          "stdnum's IBANs in 3 forms x 2 contexts; exact spans; tp/fp/fn)\n")
    print("| type | cases | curate F1 (tp/fp/fn) | Presidio F1 (tp/fp/fn) | Apertus regex F1 (tp/fp/fn) |")
    print("|---|---:|---:|---:|---:|")
    for kind in DEFAULT_TYPES:
        n = sum(1 for c in cases if c[0] == kind)
        cells = [f"{f1(*t[kind]):.3f} ({'/'.join(map(str, t[kind]))})" if kind in t else "-"
                 for t in (ours, theirs, regexes)]
        print(f"| {kind} | {n} | " + " | ".join(cells) + " |")
    if args.f1_only:
        return

    engine = presidio_engine()
    print(f"\n### Speed on ~3.4 KB documents ({args.long_docs} per style, seed {args.seed}), documents per CPU "
          f"second, median of {args.repeats} repeat(s)\n")
    print("| system | dense docs/s | web docs/s |")
    print("|---|---:|---:|")
    by_style = {}
    for style in ("dense", "web"):
        docs = make_long_corpus(args.long_docs, args.seed, style)
        by_style[style] = speed_rows(docs, args.repeats, engine)
    for name in by_style["dense"]:
        print(f"| {name} | {by_style['dense'][name]:,.0f} | {by_style['web'][name]:,.0f} |")
    for label, a, b in (("curate / Presidio, 5 types", "curate, 5 types", "Presidio (NoOp NLP), 5 types"),
                        ("curate / Presidio, 3 types", "curate, 3 Apertus types", "Presidio (NoOp NLP), 3 Apertus types"),
                        ("curate 3 types / Apertus regexes", "curate, 3 Apertus types", "Apertus regexes (their 3 types)")):
        print(f"| ratio {label} | {by_style['dense'][a] / by_style['dense'][b]:.1f}x | "
              f"{by_style['web'][a] / by_style['web'][b]:.1f}x |")

    short_docs(args, engine)


def short_docs(args, engine) -> None:
    docs = make_corpus(args.docs, args.seed)
    truth = [t for _, _, t in docs]
    n_chars = sum(len(text) for _, text, _ in docs)
    ours = lambda text, lang: find_pii(text, lang)  # noqa: E731
    theirs = presidio_find(engine)
    for lang in LANGUAGES:  # one-time set-up (regex compilation, metadata loading) of both systems
        ours("warm-up a@example.com +41 44 668 18 00 030 1234567", lang)
        theirs("warm-up a@example.com +41 44 668 18 00 030 1234567", lang)

    systems = (("presidio AnalyzerEngine (NoOp NLP)", theirs), ("curate.pii.find_pii", ours))
    rates: dict[str, list[float]] = {name: [] for name, _ in systems}
    predicted: dict[str, list[list[Span]]] = {}
    for _ in range(args.repeats):  # interleaved, so load changes hit both systems alike
        for name, find in systems:
            rate, predicted[name] = timed_pass(find, docs)
            rates[name].append(rate)
    rows = []
    for name, _ in systems:
        precision, recall, f_score, misses = score(predicted[name], truth)
        rows.append((name, statistics.median(rates[name]), precision, recall, f_score, misses))

    print(f"\n### Short generated documents: {args.docs} docs ({n_chars / 1e6:.2f} M chars, {sum(map(len, truth))} planted PII spans), "
          f"seed {args.seed}, median of {args.repeats} repeat(s)\n")
    print("| system | docs/s (CPU time, median) | precision | recall | F1 | speed ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    base = rows[0][1]
    for name, rate, precision, recall, f_score, _ in rows:
        print(f"| {name} | {rate:,.0f} | {precision:.3f} | {recall:.3f} | {f_score:.3f} | {rate / base:.1f}x |")
    print()
    for name, *_, misses in rows:
        print(f"{name} errors by type: {dict(sorted(misses.items())) or 'none'}")


if __name__ == "__main__":
    main()
