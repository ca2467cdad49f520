"""Benchmark curate.pii.find_pii against Presidio's AnalyzerEngine on a generated multilingual corpus.

The corpus (seeded, deterministic) mixes prose in en/de/fr/it/es/rm with planted PII at known offsets
(e-mail, IPv4/IPv6, IBAN spaced and compact, phone numbers in national and international format, card
numbers) and with distractors (dates, times, prices, version strings, order numbers, code snippets).
The baseline is Presidio with its NoOp NLP engine and a registry holding the same pattern recognizers
(Email, Ip, Iban, CreditCard, and Phone with the same regions per language as ours).

    .venv/bin/python bench/bench_pii.py [--docs 2000] [--repeats 3] [--seed 7] [--quick]
"""
from __future__ import annotations

import argparse
import ipaddress
import random
import re
import statistics
import string
import time
from collections import Counter
from collections.abc import Callable

import phonenumbers

from curate.pii import DEFAULT_TYPES, find_pii, regions_for
from curate.pii.cards import luhn_ok
from curate.pii.iban import _BBAN_SPEC, mod97_ok

LANGUAGES = ("en", "de", "fr", "it", "es", "rm")
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="300 documents, 1 repeat")
    args = ap.parse_args()
    if args.quick:
        args.docs, args.repeats = 300, 1

    docs = make_corpus(args.docs, args.seed)
    truth = [t for _, _, t in docs]
    n_chars = sum(len(text) for _, text, _ in docs)
    engine = presidio_engine()
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
        p, r, f1, misses = score(predicted[name], truth)
        rows.append((name, statistics.median(rates[name]), p, r, f1, misses))

    print(f"\n{args.docs} docs ({n_chars / 1e6:.2f} M chars, {sum(map(len, truth))} planted PII spans), "
          f"seed {args.seed}, median of {args.repeats} repeat(s)\n")
    print("| system | docs/s (CPU time, median) | precision | recall | F1 | speed ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    base = rows[0][1]
    for name, rate, p, r, f1, _ in rows:
        print(f"| {name} | {rate:,.0f} | {p:.3f} | {r:.3f} | {f1:.3f} | {rate / base:.1f}x |")
    print()
    for name, *_, misses in rows:
        print(f"{name} errors by type: {dict(sorted(misses.items())) or 'none'}")


if __name__ == "__main__":
    main()
