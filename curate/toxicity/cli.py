"""`curate toxicity ...`: rebuild the shipped classifier (`train --recipe default`), train one on your own
labelled CSV (`train --data`), score texts."""
from __future__ import annotations

import json
import sys
import time

import click


@click.group("toxicity")
def toxicity() -> None:
    """Toxicity scoring: the shipped classifier, a fastText model trained on your labelled data, or HF models."""


@toxicity.command("train")
@click.option("--recipe", default=None, help="Named recipe ('default' rebuilds the shipped model from "
              "../shared/corpora/toxicity/train; hyper-parameters in curate/toxicity/recipe.py and the model card).")
@click.option("--train-data", "train_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="With --recipe: the folder holding labelled.jsonl.gz and clean_sentences.jsonl.gz "
                   "(default ../shared/corpora/toxicity/train, or $CURATE_SHARED/corpora/toxicity/train).")
@click.option("--data", "data_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Labelled CSV (header row), instead of a recipe.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Model file to write (fastText .bin); a <out>.json sidecar records the training.")
@click.option("--text-column", default="text", show_default=True)
@click.option("--label-column", "label_columns", multiple=True, default=("label",), show_default=True,
              help="Repeatable. A row is toxic if any label column is > 0 (ToxicCommons rule); rows whose "
                   "labels are all negative (e.g. Jigsaw's -1) are skipped as unlabelled.")
@click.option("--epoch", default=5, show_default=True, type=int)
@click.option("--lr", default=1.0, show_default=True, type=float, help="Adagrad step size.")
@click.option("--wordNgrams", "word_ngrams", default=2, show_default=True, type=int)
@click.option("--minn", default=3, show_default=True, type=int, help="Shortest character n-gram (0 with --maxn 0: none).")
@click.option("--maxn", default=5, show_default=True, type=int)
@click.option("--bucket", default=200_000, show_default=True, type=int,
              help="Hash rows for word and character n-grams (the model has vocabulary + bucket floats).")
@click.option("--minCount", "min_count", default=1, show_default=True, type=int)
@click.option("--l2", default=1e-7, show_default=True, type=float)
@click.option("--batch-size", default=32, show_default=True, type=int)
@click.option("--seed", default=0, show_default=True, type=int)
def train(recipe, train_dir, data_path, out_path, text_column, label_columns, epoch, lr, word_ngrams, minn, maxn,
          bucket, min_count, l2, batch_size, seed) -> None:
    """Train a supervised fastText-format classifier (toxic vs clean) and save it as a fastText .bin."""
    if (recipe is None) == (data_path is None):
        raise click.UsageError("give exactly one of --recipe NAME or --data CSV")
    if recipe is not None:
        from .recipe import train_recipe

        try:
            report = train_recipe(out_path, recipe, train_dir)
        except (ValueError, FileNotFoundError) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(json.dumps(report, sort_keys=True))
        return
    from .fasttext_model import TrainConfig, read_labelled_csv, save_fasttext_bin, train_classifier

    try:
        config = TrainConfig(epoch=epoch, lr=lr, word_ngrams=word_ngrams, minn=minn, maxn=maxn, bucket=bucket,
                             min_count=min_count, l2=l2, batch_size=batch_size, seed=seed)
        config.validate()
        texts, labels, stats = read_labelled_csv(data_path, text_column, label_columns)
        started = time.perf_counter()
        model = train_classifier(texts, labels, config)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    model.stats["skipped_unlabelled"] = stats["skipped_unlabelled"]
    model.stats["source"] = str(data_path)
    digest = save_fasttext_bin(model, out_path)
    click.echo(json.dumps({"model": out_path, "sha256": digest, "seconds": round(time.perf_counter() - started, 2),
                           **model.stats}, sort_keys=True))


@toxicity.command("score")
@click.option("--language", "-l", required=True, help="Language code, e.g. en, de, zh.")
@click.option("--model", default=None,
              help="fastText .bin, 'lexicon', or hf:DIR; default: the shipped classifier.")
@click.option("--chunk-chars", default=2000, show_default=True, type=int)
@click.argument("text", required=False)
def score_cmd(language: str, model: str | None, chunk_chars: int, text: str | None) -> None:
    """Score TEXT (or stdin, one document) and print the score and its evidence as JSON."""
    from . import make_scorer

    text = text if text is not None else sys.stdin.read()
    try:
        value, detail = make_scorer(model).score_document(text, language, chunk_chars)
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(detail, ensure_ascii=False, sort_keys=True))


# --- `curate toxicity train-head`: the Apertus recipe's per-language head on a local encoder (curate.toxicity.hf)

@toxicity.command("train-head")
@click.option("--encoder", "encoder", required=True, help="Local encoder directory (save_pretrained), hf:DIR or DIR.")
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Labelled CSV or JSON lines (.gz too), e.g. ../shared/corpora/toxicity/train/labelled.jsonl.gz.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Head file to write (safetensors; pipeline key toxicity: {encoder: hf:DIR, head: FILE}).")
@click.option("--text-column", default="text", show_default=True)
@click.option("--label-column", "label_columns", multiple=True, default=("label",), show_default=True,
              help="Repeatable; a row is toxic if any is > 0, skipped if all are negative or empty.")
@click.option("--language-column", default="lang", show_default=True)
@click.option("--language", "default_language", default=None, help="Language of rows without a language column.")
@click.option("--epochs", default=20, show_default=True, type=int)
@click.option("--lr", default=1e-3, show_default=True, type=float)
@click.option("--hidden", default=256, show_default=True, type=int)
@click.option("--min-rows", default=20, show_default=True, type=int,
              help="Rows (of both classes) a language needs for its own head; all rows train the fallback.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--device", default="cpu", show_default=True, help="Device for the encoder (cpu, cuda).")
@click.option("--batch-size", default=64, show_default=True, type=int)
@click.option("--max-tokens", default=512, show_default=True, type=int)
def train_head_cmd(encoder: str, data_path: str, out_path: str, text_column: str, label_columns: tuple[str, ...],
                   language_column: str, default_language: str | None, epochs: int, lr: float, hidden: int,
                   min_rows: int, seed: int, device: str, batch_size: int, max_tokens: int) -> None:
    """Train per-language MLP heads on mean-pooled embeddings of a local encoder (needs curate[hf])."""
    from .hf import read_labelled_rows, train_head

    started = time.perf_counter()
    try:
        texts, labels, languages, stats = read_labelled_rows(data_path, text_column, label_columns,
                                                             language_column, default_language)
        info = train_head(encoder, texts, labels, languages, out_path, epochs=epochs, lr=lr, seed=seed,
                          hidden=hidden, device=device, batch_size=batch_size, max_tokens=max_tokens,
                          min_rows=min_rows)
    except (ValueError, ImportError) as exc:
        raise click.ClickException(str(exc)) from None
    info.update(skipped_unlabelled=stats["skipped_unlabelled"], source=str(data_path),
                seconds=round(time.perf_counter() - started, 2))
    click.echo(json.dumps(info, sort_keys=True))
