"""How the default encoder's adapter is trained (index.finetune): its training data from
the real corpus and statements, and a short real training run on the real model whose
adapter, merged as `boussole build` merges the shipped one, sets statements apart."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from boussole.index.finetune import Settings, batches, fine_tune, training_pairs
from boussole.index.problems import load_item_problems
from boussole.index.text import embedding_text


def test_every_statement_is_paired_with_its_item_in_its_own_language(corpus_chunks):
    problems = load_item_problems()
    pairs = training_pairs(corpus_chunks, problems)
    keys = {c.key or c.id for c in corpus_chunks}
    expected = sum(len(s) for key, by in problems.statements.items() if key in keys for s in by.values())
    assert len(pairs) == expected > 3000
    by_key_lang = {(c.key, c.lang): embedding_text(c) for c in corpus_chunks if c.key}
    french = next(p for p in pairs if p.query in problems.statements[p.key].get("fr", ()))
    english = next(p for p in pairs if p.query in problems.statements[p.key].get("en", ()))
    assert french.passage == by_key_lang[(french.key, "fr")]
    assert english.passage == by_key_lang[(english.key, "en")]


def test_batches_never_hold_one_item_twice_and_lose_at_most_one_pair(corpus_chunks):
    pairs = training_pairs(corpus_chunks, load_item_problems())
    seen: Counter = Counter()
    for batch in batches(pairs, 32, random.Random(0)):
        assert 2 <= len(batch) <= 32
        assert len({p.key for p in batch}) == len(batch)
        seen.update(id(p) for p in batch)
    assert max(seen.values()) == 1 and len(pairs) - len(seen) <= 1


def test_statements_of_a_single_item_are_refused_before_any_training(corpus_chunks, tmp_path):
    pairs = training_pairs(corpus_chunks, load_item_problems())
    one_item = [p for p in pairs if p.key == pairs[0].key]
    with pytest.raises(ValueError, match="at least two items"):
        fine_tune(tmp_path / "no-model", one_item, tmp_path / "tuned")
    assert not (tmp_path / "tuned").exists()


def test_a_short_training_run_sets_statements_apart_for_their_items(e5_model_dir, corpus_chunks, tmp_path):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("peft")
    from boussole.index.encoders.convert.adapter import build_tuned, read_adapter
    from boussole.index.encoders.sentence_transformers import SentenceTransformerEncoder

    pairs = training_pairs(corpus_chunks, load_item_problems())
    chosen, keys = [], set()
    for pair in pairs:  # eight items, one statement each
        if pair.key not in keys and len(chosen) < 8:
            chosen.append(pair)
            keys.add(pair.key)

    def margin(encoder) -> float:
        """How much nearer each statement is to its own item than to the seven others."""
        similarity = (
            encoder.embed_queries([p.query for p in chosen]) @ encoder.embed_documents([p.passage for p in chosen]).T
        )
        own = np.diag(similarity)
        others = (similarity.sum(axis=1) - own) / (len(chosen) - 1)
        return float(np.mean(own - others))

    before = SentenceTransformerEncoder(e5_model_dir)
    adapter = fine_tune(
        e5_model_dir,
        chosen,
        tmp_path / "adapter.safetensors",
        Settings(epochs=4, batch_size=4, learning_rate=1e-3, max_seq_length=48, rank=4),
    )
    factors = read_adapter(adapter).factors
    assert len(factors) == 12 * 6 and all(a.shape[0] == 4 for a, _ in factors.values())
    after = SentenceTransformerEncoder(build_tuned(e5_model_dir, tmp_path / "tuned", adapter_path=adapter))
    assert after.fingerprint != before.fingerprint  # an index built with it is another model's
    assert after.max_seq_length == before.max_seq_length  # passages are embedded whole
    assert margin(after) > margin(before) + 0.01
    assert not list(tmp_path.glob(".*partial-*"))
