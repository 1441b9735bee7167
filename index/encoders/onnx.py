"""An Encoder over the ONNX export of multilingual-e5-small (see `encoders.convert.onnx_build`).

Same texts in, same vectors out as the sentence-transformers model, up to float noise
(fp32) or quantisation noise (int8, cosine >= 0.99 to fp32, tests/test_onnx.py):
the "query: " / "passage: " prompts, truncation at the model's 512 tokens, mean pooling
over the attention mask (prompt tokens included, as `include_prompt: true`) and L2
normalisation. Only onnxruntime, tokenizers and numpy are imported: no torch, so a cold
`boussole search` loads in about a second.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from boussole.index.encoders.convert.onnx_build import FP32_FILE, INT8_FILE, INT8_PASSAGES, read_marker
from boussole.index.encoders.cores import available_cores, count_from_env
from boussole.index.errors import ModelError

PRECISIONS = {"int8": INT8_FILE, "fp32": FP32_FILE}
# The name each precision's passages go by in the manifest and the cache (passage_precision).
PASSAGES = {"int8": INT8_PASSAGES, "fp32": "fp32"}
# Texts per forward pass. int8: one. Dynamic quantisation scales each layer's activations
# by the min/max of the whole input tensor, so in a batch a text's vector would depend on
# its neighbours (cosine down to 0.995 between a query alone and the same query among 31
# others, measured): a search's ranking would change with the server's load. fp32 has no
# such coupling (padding is masked): texts are sorted by length and batched.
BATCH = {"int8": 1, "fp32": 16}
# Passages (~130 tokens, up to 512) go one at a time: fp32 on one core, 62 ms per passage
# alone against 74 in batches of 4 and 117 in batches of 16 (measured on the corpus; torch
# takes 78 in batches of 16). Batching only pays for short texts. What does pay is running
# one single-threaded forward pass per core at once (`document_workers`): 37 ms per passage
# with two on the 2-vCPU machine against 63 with one, while ONNX Runtime's own two intra-op
# threads on one pass gave 77-113 ms (measured on 64 passages of the corpus, other jobs
# running; bench/onnx_passages.py). A passage alone in its pass has no padding, so its
# vector does not depend on which worker encoded it, nor on how many there are.
DOCUMENT_BATCH = 1
# A query call this large is a build's (the item-problem statements and the calibration
# questions; a server's batches stop at service.batching.DEFAULT_MAX_BATCH): its texts are
# encoded like passages, one pass per core. Encoded on one thread beside the passages, the
# statements were the build's longest path (2,663 of them took about 53 s of one core).
PARALLEL_QUERIES = 64


def build_workers() -> int:
    """Forward passes run at once when encoding passages: BOUSSOLE_BUILD_WORKERS, else one
    per available CPU."""
    return count_from_env("BOUSSOLE_BUILD_WORKERS", available_cores())


class OnnxEncoder:
    """An Encoder (encoders.base) running the exported model in ONNX Runtime.

    `precision` applies to queries and passages alike. int8 passages once cost 0.014
    nDCG@10 (hybrid, 0.385 vs 0.399, French-only index), so passages were always float32.
    With item problems the items' dense score is mostly their statements' (0.8), and int8
    passages no longer cost anything measurable while taking 50 ms each on one core against
    78 (100 passages of the corpus, 2026-12-06): on both tuning halves nDCG@10 0.630 against
    0.627 and answer F 0.597 against 0.600, within noise (docs/performance.md). So the
    default int8 encoder writes int8 passages and `fp32` float32 ones (the vectors of
    sentence-transformers, float noise). Every precision shares the model's fingerprint and
    can query an index built by another; the cache and the manifest tell their passages
    apart (`passage_precision`). The float32 session is opened on first use only: an int8
    search process never loads it.
    """

    def __init__(
        self,
        folder: Path,
        *,
        model_id: str,
        precision: str = "int8",
        num_threads: int = 1,
        document_workers: int | None = None,
    ):
        if precision not in PRECISIONS:
            raise ModelError(f"ONNX precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        folder = Path(folder)
        marker = read_marker(folder)
        if marker is None:
            raise ModelError(f"{folder}: not an ONNX export of Boussole (run `boussole build`)")
        try:
            from tokenizers import Tokenizer
        except ImportError as e:  # pragma: no cover - required dependency
            raise ModelError(f"tokenizers is needed for the ONNX encoder: {e}") from e
        self.path = folder
        self.model_id = model_id
        self.precision = precision
        self.passage_precision = PASSAGES[precision]
        self._num_threads = num_threads
        # Passages are encoded at build time, when the machine is the build's: one pass per
        # available core (BOUSSOLE_BUILD_WORKERS overrides).
        self.document_workers = document_workers or build_workers()
        self._sessions: dict[str, object] = {}
        self._sessions_lock = threading.Lock()
        query_session = self._session(precision)
        try:
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as e:  # noqa: BLE001 - any loader failure is a model problem for us
            raise ModelError(f"{folder}: cannot load the tokenizer: {e}") from e
        max_length = int(marker.get("max_length", 512))
        pad = marker.get("pad_token", "<pad>")
        pad_id = self._tokenizer.token_to_id(pad)
        if pad_id is None:
            raise ModelError(f"{folder}: the tokenizer has no padding token {pad!r}")
        self._tokenizer.enable_truncation(max_length)
        self._tokenizer.enable_padding(pad_id=pad_id, pad_token=pad)
        prompts = marker.get("prompts") or {}
        self._query_prompt = prompts.get("query", "query: ")
        self._document_prompt = prompts.get("document", "passage: ")
        dim = query_session.get_outputs()[0].shape[-1]
        self.dim = dim if isinstance(dim, int) else int(marker.get("dim") or 0)
        if not self.dim:
            raise ModelError(f"{folder}: the ONNX model does not declare its embedding dimension")
        self.fingerprint = marker["source_fingerprint"]

    def _session(self, precision: str):
        with self._sessions_lock:
            if precision not in self._sessions:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = self._num_threads
                options.inter_op_num_threads = 1
                options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                options.log_severity_level = 3  # errors only: no warnings on a newcomer's terminal
                path = self.path / PRECISIONS[precision]
                try:
                    self._sessions[precision] = ort.InferenceSession(
                        str(path), options, providers=["CPUExecutionProvider"]
                    )
                except Exception as e:  # noqa: BLE001 - any loader failure is a model problem for us
                    raise ModelError(f"{path}: cannot load the ONNX model: {e}") from e
            return self._sessions[precision]

    def _run(self, texts: list[str], session) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return self._pool(session, ids, mask)

    @staticmethod
    def _pool(session, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Forward pass, mean pooling over the mask, L2 normalisation."""
        (hidden,) = session.run(None, {"input_ids": ids, "attention_mask": mask})
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.ascontiguousarray(pooled / np.clip(norms, 1e-12, None), dtype=np.float32)

    def _encode(self, texts: list[str], prompt: str, precision: str, batch: int) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a list of strings, not a string")
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        session = self._session(precision)
        prompted = [prompt + t for t in texts]
        order = sorted(range(len(prompted)), key=lambda i: len(prompted[i]))
        out = np.empty((len(prompted), self.dim), np.float32)
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            out[rows] = self._run([prompted[i] for i in rows], session)
        return out

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """int8 texts go one per forward pass anyway (BATCH): a call of PARALLEL_QUERIES or
        more (a build's calibration questions and item problems, never a server's batch)
        runs `document_workers` passes at once, with the same vectors bit for bit."""
        if self.precision == "int8" and len(texts) >= PARALLEL_QUERIES and not isinstance(texts, str):
            return self._encode_each(texts, self._query_prompt, self.precision)
        return self._encode(texts, self._query_prompt, self.precision, BATCH[self.precision])

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Vectors in `passage_precision`, one passage per forward pass, `document_workers`
        passes at a time."""
        return self._encode_each(texts, self._document_prompt, self.precision)

    def _encode_each(self, texts: list[str], prompt: str, precision: str) -> np.ndarray:
        """One text per forward pass, `document_workers` passes at a time."""
        if isinstance(texts, str):
            raise TypeError("pass a list of strings, not a string")
        workers = min(self.document_workers, len(texts))
        if workers <= 1:
            return self._encode(texts, prompt, precision, DOCUMENT_BATCH)
        session = self._session(precision)
        # Tokenised here, in one thread: a tokenizers.Tokenizer with padding enabled must not
        # be used from two threads at once ("Already borrowed"). One text per `encode`, so
        # no padding, exactly as `_run` sees a batch of one.
        encodings = [self._tokenizer.encode(prompt + t) for t in texts]
        out = np.empty((len(texts), self.dim), np.float32)
        # Longest first, each worker taking the next text when it is free: the last texts
        # to finish are the short ones, so no worker idles long at the end.
        order = iter(sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids)))
        take = threading.Lock()

        def work() -> None:
            while True:
                with take:
                    i = next(order, None)
                if i is None:
                    return
                ids = np.array([encodings[i].ids], dtype=np.int64)
                mask = np.array([encodings[i].attention_mask], dtype=np.int64)
                out[i] = self._pool(session, ids, mask)[0]

        with ThreadPoolExecutor(workers, thread_name_prefix="boussole-passages") as pool:
            for future in [pool.submit(work) for _ in range(workers)]:
                future.result()
        return out

    def close(self) -> None:
        """Nothing to stop: passage workers last one `embed_documents` call."""
