"""Ranking quality and speed of curate.toxicity vs a plain word-list rule, measured in the same run.

Datasets:
- jigsaw-test / jigsaw-train: the Detoxify dummy Jigsaw CSVs in ../shared/corpora (read in place; rows with
  label -1 are unlabelled and skipped; toxic = any label column is 1). The lexicon never saw them.
- generated-<lang>: a seeded multilingual set built here from templates: neutral sentences, direct insults,
  threats (toxic) and counter-speech, violent news and innocent words containing bad substrings
  ("Scunthorpe", non-toxic). Caveat: the insult slot words were written by the same team as the lexicon,
  so this set mostly measures the context rules, not vocabulary coverage; a few slot words are
  deliberately missing from our lexicon.

Baseline: score = 1 if any entry of the LDNOOBW list for the language (read in place from
../shared/corpora/toxicity/ldnoobw; Romansh has none, so the English list) occurs as a whole word
(substring for Chinese), else 0.

ROC-AUC is rank-based with ties averaged. Speed: docs/s, median over repeats.
Run: .venv/bin/python bench/bench_toxicity.py [--quick] [--corpora PATH]
"""
from __future__ import annotations

import argparse
import csv
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curate.toxicity import Scorer  # noqa: E402
from curate.toxicity.lexicon import fold  # noqa: E402

JIGSAW_LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]

# Per language: neutral sentences, insult words, "you are X" templates, threats, counter-speech templates,
# violent-but-not-toxic news, innocent words with bad substrings.
TEMPLATES: dict[str, dict[str, list[str]]] = {
    "en": {
        "neutral": ["The library opens at nine on weekdays.", "We planted tomatoes in the garden this spring.",
                    "The committee will review the proposal next month.", "Trains to the airport leave every ten minutes.",
                    "She explained the theorem with a simple drawing."],
        "insult": ["idiot", "moron", "asshole", "bitch", "loser", "scum", "clown"],
        "you": ["You are a {w}.", "Shut up, you {w}!", "You're such a stupid {w}, nobody wants you here."],
        "threat": ["I will kill you if I see you again.", "Kill yourself, nobody would miss you.",
                   "I'm going to find you and beat you up."],
        "counter": ["Calling someone a {w} is unacceptable.", 'The word "{w}" should not be used in class.',
                    "He was banned for calling a colleague a {w}."],
        "news": ["The earthquake killed dozens of people in the region.", "The novel describes a murder in Venice."],
        "scunthorpe": ["Scunthorpe United beat Middlesex in the class final.", "The assessment covered cocktail recipes.",
                       "Dickens wrote about an assassin and a therapist.", "Shiitake mushrooms grow on cumulative compost."],
    },
    "de": {
        "neutral": ["Die Bibliothek öffnet werktags um neun Uhr.", "Wir haben im Frühling Tomaten gepflanzt.",
                    "Der Ausschuss prüft den Vorschlag im nächsten Monat.", "Die Züge zum Flughafen fahren alle zehn Minuten."],
        "insult": ["Idiot", "Arschloch", "Vollidiot", "Wichser", "Trottel", "Lappen"],
        "you": ["Du bist ein {w}.", "Halt die Klappe, du {w}!", "Du dummer {w}, verschwinde endlich."],
        "threat": ["Ich bringe dich um, wenn ich dich sehe.", "Verreck doch, du Missgeburt."],
        "counter": ["Jemanden {w} zu nennen ist inakzeptabel.", "Das Wort „{w}“ ist beleidigend."],
        "news": ["Bei dem Erdbeben wurden viele Menschen getötet.", "Der Roman beschreibt einen Mord in Venedig."],
        "scunthorpe": ["Der Mistral weht über die Provence.", "Die Klasse schrieb eine Bewertung über Cocktails."],
    },
    "fr": {
        "neutral": ["La bibliothèque ouvre à neuf heures en semaine.", "Nous avons planté des tomates ce printemps.",
                    "Le comité examinera la proposition le mois prochain.", "Les trains pour l'aéroport partent toutes les dix minutes."],
        "insult": ["connard", "idiot", "salope", "abruti", "crétin", "tocard"],
        "you": ["T'es qu'un {w}.", "Ferme-la, espèce de {w} !", "Tu es un {w} et tout le monde le sait."],
        "threat": ["Je vais te tuer si je te revois.", "Crève, sale ordure."],
        "counter": ["Traiter quelqu'un de {w} est inacceptable.", "Le mot « {w} » est une insulte."],
        "news": ["Le séisme a tué des dizaines de personnes.", "Le roman raconte un meurtre à Venise."],
        "scunthorpe": ["La connexion au conseil municipal est rétablie.", "Le concours de la classe est terminé."],
    },
    "it": {
        "neutral": ["La biblioteca apre alle nove nei giorni feriali.", "In primavera abbiamo piantato pomodori.",
                    "Il comitato esaminerà la proposta il mese prossimo.", "I treni per l'aeroporto partono ogni dieci minuti."],
        "insult": ["stronzo", "idiota", "coglione", "cretino", "imbecille", "buffone"],
        "you": ["Sei uno {w}.", "Stai zitto, {w}!", "Sei proprio un {w}, vattene."],
        "threat": ["Ti ammazzo se ti rivedo.", "Muori, bastardo."],
        "counter": ["Chiamare qualcuno «{w}» è inaccettabile.", "La parola «{w}» è offensiva."],
        "news": ["Il terremoto ha ucciso decine di persone.", "Il romanzo racconta un omicidio a Venezia."],
        "scunthorpe": ["Il cazzotto del pugile era famoso.", "La classe ha visitato Troia in Turchia."],
    },
    "nl": {
        "neutral": ["De bibliotheek gaat op werkdagen om negen uur open.", "We hebben dit voorjaar tomaten geplant.",
                    "De commissie bekijkt het voorstel volgende maand.", "De treinen naar het vliegveld rijden elke tien minuten."],
        "insult": ["klootzak", "idioot", "eikel", "debiel", "sukkel", "randdebiel"],
        "you": ["Jij bent een {w}.", "Hou je bek, {w}!", "Je bent echt een {w}, rot op."],
        "threat": ["Ik maak je af als ik je zie.", "Krijg de kanker, vuile hoer."],
        "counter": ["Iemand een {w} noemen is onacceptabel.", "Het woord '{w}' is kwetsend."],
        "news": ["Bij de aardbeving kwamen tientallen mensen om.", "De roman beschrijft een moord in Venetië."],
        "scunthorpe": ["Hoera, we hebben de finale gewonnen!", "Het kankeronderzoek boekt vooruitgang."],
    },
    "pl": {
        "neutral": ["Biblioteka jest otwarta w dni robocze od dziewiątej.", "Wiosną posadziliśmy pomidory w ogrodzie.",
                    "Komisja rozpatrzy wniosek w przyszłym miesiącu.", "Pociągi na lotnisko odjeżdżają co dziesięć minut."],
        "insult": ["debil", "idiota", "kretyn", "dupek", "frajer", "palant"],
        "you": ["Jesteś {w}.", "Zamknij się, ty {w}!", "Ty głupi {w}, spadaj stąd."],
        "threat": ["Zabiję cię, jak cię zobaczę.", "Zdychaj, ty śmieciu."],
        "counter": ["Nazywanie kogoś „{w}” jest niedopuszczalne.", "Słowo „{w}” jest obraźliwe."],
        "news": ["Trzęsienie ziemi zabiło dziesiątki osób.", "Powieść opisuje morderstwo w Wenecji."],
        "scunthorpe": ["To był wielki sukces naszej firmy.", "Suknia ślubna była piękna."],
    },
    "es": {
        "neutral": ["La biblioteca abre a las nueve los días laborables.", "Esta primavera plantamos tomates en el huerto.",
                    "El comité revisará la propuesta el mes que viene.", "Los trenes al aeropuerto salen cada diez minutos."],
        "insult": ["imbécil", "idiota", "pendejo", "gilipollas", "cabrón", "zopenco"],
        "you": ["Eres un {w}.", "¡Cállate, {w}!", "Eres un {w} y nadie te quiere aquí."],
        "threat": ["Te voy a matar si te vuelvo a ver.", "Muérete, hijo de puta."],
        "counter": ["Llamar a alguien «{w}» es inaceptable.", "La palabra «{w}» es un insulto."],
        "news": ["El terremoto mató a decenas de personas.", "La novela narra un asesinato en Venecia."],
        "scunthorpe": ["Compré un cono de helado en la playa.", "La clase visitó el puerto de Cartagena."],
    },
    "pt": {
        "neutral": ["A biblioteca abre às nove nos dias úteis.", "Nesta primavera plantamos tomates na horta.",
                    "O comitê vai analisar a proposta no próximo mês.", "Os trens para o aeroporto saem a cada dez minutos."],
        "insult": ["idiota", "otário", "babaca", "imbecil", "arrombado", "palhaço"],
        "you": ["Você é um {w}.", "Cala a boca, seu {w}!", "Tu és um {w} e ninguém te quer aqui."],
        "threat": ["Vou te matar se te vir de novo.", "Morra, seu desgraçado."],
        "counter": ["Chamar alguém de «{w}» é inaceitável.", "A palavra «{w}» é ofensiva."],
        "news": ["O terremoto matou dezenas de pessoas.", "O romance narra um assassinato em Veneza."],
        "scunthorpe": ["O pica-pau bicava a árvore.", "A turma visitou o museu da cidade."],
    },
    "zh": {
        "neutral": ["图书馆工作日九点开门。", "今年春天我们在花园里种了西红柿。", "委员会下个月将审议这项提议。",
                    "去机场的火车每十分钟一班。"],
        "insult": ["傻逼", "白痴", "混蛋", "蠢货", "脑残", "二百五"],
        "you": ["你这个{w}。", "闭嘴，你这个{w}！", "你就是个{w}，滚开。"],
        "threat": ["我要杀了你。", "你去死吧，死全家。"],
        "counter": ["骂别人“{w}”是不可接受的。", "“{w}”这个词是侮辱性的，不应该说。"],
        "news": ["地震造成数十人死亡。", "这部小说讲述了威尼斯的一起谋杀案。"],
        "scunthorpe": ["他喜欢吃鸡蛋和鸭肉。", "我们在操场上打篮球。"],
    },
    "rm": {
        "neutral": ["La biblioteca è averta da las nov.", "Jau vom a Cuira cun il tren.", "Nus avain plantà tomatas en l'iert.",
                    "La cumissiun examinescha la proposta il proxim mais."],
        "insult": ["tamberl", "idiot", "nar", "cretin", "stupid"],
        "you": ["Ti es in {w}.", "Ti es in {w}, va davent!"],
        "threat": ["Jau ta mazz, putana!", "Jau ta mazz, ti bastard."],
        "counter": ["Il pled '{w}' è offensiv.", "Numnar insatgi '{w}' è betg acceptabel."],
        "news": ["Il terratrembel ha mazzà blera glieud.", "Il roman descriva in mazzament a Vaniescha."],
        "scunthorpe": ["La classa ha visità il museum.", "Il tgaunet dorma en chasa."],
    },
}


def generate_set(lang: str, n_docs: int, seed: int) -> list[tuple[str, int]]:
    """(text, label) documents: 1-3 neutral sentences plus at most one probe sentence."""
    t = TEMPLATES[lang]
    rng = random.Random(f"{seed}-{lang}")
    kinds = ["neutral", "you", "threat", "counter", "news", "scunthorpe"]
    docs = []
    for k in range(n_docs):
        kind = kinds[k % len(kinds)]
        parts = rng.sample(t["neutral"], rng.randint(1, 3))
        if kind == "you":
            probe, label = rng.choice(t["you"]).format(w=rng.choice(t["insult"])), 1
        elif kind == "threat":
            probe, label = rng.choice(t["threat"]), 1
        elif kind == "counter":
            probe, label = rng.choice(t["counter"]).format(w=rng.choice(t["insult"])), 0
        elif kind in ("news", "scunthorpe"):
            probe, label = rng.choice(t[kind]), 0
        else:
            probe, label = None, 0
        if probe:
            parts.insert(rng.randint(0, len(parts)), probe)
        docs.append((("" if lang == "zh" else " ").join(parts), label))
    return docs


def read_jigsaw(path: Path) -> list[tuple[str, int]]:
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            values = [int(row[c]) for c in JIGSAW_LABELS]
            if all(v < 0 for v in values):
                continue  # unlabelled in the Jigsaw test split
            rows.append((row["comment_text"], int(any(v > 0 for v in values))))
    return rows


class WordListRule:
    """1 if any LDNOOBW entry occurs as a whole word (substring for Han), else 0."""

    def __init__(self, words: list[str]):
        han = [w for w in words if re.search(r"[\u4e00-\u9fff]", w)]
        other = [w for w in words if w not in han]
        alternatives = [re.escape(w) for w in sorted(han, key=len, reverse=True)]
        if other:
            alternatives.append(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in sorted(other, key=len, reverse=True)) + r")(?!\w)")
        self.regex = re.compile("|".join(alternatives)) if alternatives else None

    def score(self, text: str) -> float:
        return float(bool(self.regex and self.regex.search(fold(text))))


def load_wordlist(corpora: Path, lang: str) -> tuple[WordListRule, str]:
    path = corpora / "toxicity" / "ldnoobw" / f"{lang}.txt"
    used = lang
    if not path.is_file():
        path, used = corpora / "toxicity" / "ldnoobw" / "en.txt", "en"
    words = [fold(w.strip()) for w in path.read_text(encoding="utf-8").splitlines() if w.strip()]
    return WordListRule(words), used


def roc_auc(scores: list[float], labels: list[int]) -> float:
    """Rank-based ROC-AUC (Mann-Whitney U) with tied scores given their average rank."""
    n_pos = sum(labels)
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        avg = (i + j) / 2 + 1  # ranks are 1-based
        for k in range(i, j + 1):
            ranks[order[k]] = avg
        i = j + 1
    rank_sum = sum(r for r, y in zip(ranks, labels) if y)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def timed(fn, texts: list[str], repeats: int) -> tuple[list[float], float]:
    """Scores and median docs/s over `repeats` passes."""
    rates, scores = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        scores = [fn(t) for t in texts]
        rates.append(len(texts) / max(time.perf_counter() - start, 1e-9))
    return scores, statistics.median(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer generated documents and repeats")
    ap.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    n_docs, repeats = (60, 1) if args.quick else (300, 5)
    if not (args.corpora / "toxicity").is_dir():
        sys.exit(f"shared corpora not found at {args.corpora} (use --corpora)")

    scorer = Scorer()
    datasets: list[tuple[str, str, list[tuple[str, int]]]] = []
    jig = args.corpora / "toxicity" / "detoxify_dummy_jigsaw"
    datasets.append(("jigsaw-test", "en", read_jigsaw(jig / "test.csv")))
    datasets.append(("jigsaw-train", "en", read_jigsaw(jig / "train.csv")))
    for lang in TEMPLATES:
        datasets.append((f"generated-{lang}", lang, generate_set(lang, n_docs, args.seed)))

    print(f"## curate.toxicity vs word list ({'quick' if args.quick else 'full'}; seed {args.seed}; "
          f"generated {n_docs} docs/language; docs/s = median of {repeats})\n")
    print("| dataset | docs | toxic | AUC ours | AUC word list | diff | list | ours docs/s | list docs/s | speed ratio |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    all_ours, all_base, all_labels = [], [], []
    for name, lang, rows in datasets:
        texts, labels = [t for t, _ in rows], [y for _, y in rows]
        rule, used = load_wordlist(args.corpora, lang)
        ours, ours_rate = timed(lambda t: scorer.score(t, lang), texts, repeats)
        base, base_rate = timed(rule.score, texts, repeats)
        a, b = roc_auc(ours, labels), roc_auc(base, labels)
        if name.startswith("generated"):
            all_ours += ours
            all_base += base
            all_labels += labels
        print(f"| {name} | {len(rows)} | {sum(labels)} | {a:.3f} | {b:.3f} | {a - b:+.3f} | ldnoobw/{used} | "
              f"{ours_rate:,.0f} | {base_rate:,.0f} | {ours_rate / base_rate:.2f} |")
    a, b = roc_auc(all_ours, all_labels), roc_auc(all_base, all_labels)
    print(f"| generated, all 10 pooled | {len(all_labels)} | {sum(all_labels)} | {a:.3f} | {b:.3f} | {a - b:+.3f} | per language | | | |")

    try:
        import fasttext  # noqa: F401  (fasttext-predict)
    except ImportError:
        print("\nfastText row skipped: fasttext-predict not installed")
        return
    from curate.toxicity.fasttext_model import TrainConfig, read_labelled_csv, save_fasttext_bin, train_classifier

    texts, labels, _ = read_labelled_csv(jig / "train.csv", "comment_text", JIGSAW_LABELS)
    start = time.perf_counter()
    model = train_classifier(texts, labels, TrainConfig(epoch=25, lr=0.5, dim=16, bucket=20000, seed=args.seed))
    train_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        save_fasttext_bin(model, Path(tmp) / "m.bin")
        ft = Scorer(str(Path(tmp) / "m.bin"))
        test = read_jigsaw(jig / "test.csv")
        ft_scores, ft_rate = timed(lambda t: ft.score(t, "en"), [t for t, _ in test], repeats)
    print(f"\nfastText (our trainer, jigsaw-train {len(texts)} rows, {train_s:.1f} s) on jigsaw-test: "
          f"AUC {roc_auc(ft_scores, [y for _, y in test]):.3f}, {ft_rate:,.0f} docs/s")


if __name__ == "__main__":
    main()
