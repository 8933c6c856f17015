"""The handle on one Strata database, and what every store class shares.

A :class:`Strata` wraps the native handle (``_native.Native``): an embedded database
opened in this process, or a connection to a cluster. Stores are thin: each method
names the Rust client's operation, passes its arguments as JSON in LlamaIndex's own
forms, and rebuilds LlamaIndex objects from the answer. Semantics live on the Rust
side, once, for Python and Rust users alike.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import numpy as np

from . import _native

#: The client's default deadline for one call on a cluster (seconds).
DEFAULT_TIMEOUT = 60.0

_clusters: "weakref.WeakValueDictionary[tuple, Strata]" = weakref.WeakValueDictionary()
_clusters_lock = threading.Lock()


def _addresses(cluster: Union[str, Iterable[str]]) -> List[str]:
    if isinstance(cluster, str):
        addrs = [a.strip() for a in cluster.split(",")]
    else:
        addrs = [str(a).strip() for a in cluster]
    return [a for a in addrs if a]


class Strata:
    """One Strata database: ``Strata.open(path)`` (embedded, in-process) or
    ``Strata.connect(["host:port", ...])`` (a cluster).

    Every store of a LlamaIndex ``StorageContext`` comes from it: :meth:`docstore`,
    :meth:`index_store`, :meth:`kv_store`, :meth:`chat_store`, :meth:`vector_store`,
    :meth:`graph_store`, :meth:`property_graph_store`, or all at once with
    :meth:`storage_context`. Safe to share between threads and asyncio tasks.
    """

    def __init__(self, native: "_native.Native") -> None:
        self._native = native

    @classmethod
    def open(cls, path: Union[str, "os.PathLike[str]"]) -> "Strata":
        """Opens (creating if needed) the embedded database in ``path``: the same data
        directory the ``strata`` binary uses. Opening a directory this process already
        has open shares that handle; another process holding it raises
        :class:`~strata_llamaindex.errors.AlreadyOpen`."""
        return cls(_native.Native.open(os.fspath(path)))

    @classmethod
    def connect(
        cls,
        cluster: Union[str, Iterable[str]],
        timeout: float = DEFAULT_TIMEOUT,
        api_key: Optional[str] = None,
        ca_file: Optional[Union[str, "os.PathLike[str]"]] = None,
    ) -> "Strata":
        """Connects to a cluster through any of its members' client addresses
        (``"host:port"``, a list or a comma-separated string). ``timeout`` bounds
        connecting and every call, retries included: past it a call raises
        :class:`~strata_llamaindex.errors.Unavailable`. ``api_key`` (or the
        ``STRATA_API_KEY`` variable) is presented to a cluster with keys configured;
        a wrong or missing one raises :class:`~strata_llamaindex.errors.Unauthenticated`.
        ``ca_file`` (or the ``STRATA_CA_FILE`` variable) names the CA certificate of a
        cluster serving TLS: the nodes' certificates must lead to it and name the host
        dialled. Connections to the same addresses with the same timeout, key and CA
        file are shared within the process."""
        addrs = _addresses(cluster)
        ca = os.fspath(ca_file) if ca_file is not None else None
        key = (tuple(addrs), float(timeout), api_key, ca)
        with _clusters_lock:
            found = _clusters.get(key)
            if found is not None:
                return found
            handle = cls(_native.Native.connect(addrs, float(timeout), api_key, ca))
            _clusters[key] = handle
            return handle

    @property
    def embedded(self) -> bool:
        """True for an embedded database, False for a cluster connection."""
        return self._native.embedded

    def __repr__(self) -> str:
        kind = "path" if self.embedded else "cluster"
        return f"Strata({kind}={self._native.target!r})"

    # ----- calls -----

    def _call(self, store: str, op: str, args: Dict[str, Any], blob: Optional[bytes] = None) -> Any:
        return json.loads(self._native.call(store, op, json.dumps(args), blob))

    async def _acall(self, store: str, op: str, args: Dict[str, Any], blob: Optional[bytes] = None) -> Any:
        return json.loads(await self._native.acall(store, op, json.dumps(args), blob))

    def close(self) -> None:
        """Lets go of the database: later calls raise
        :class:`~strata_llamaindex.errors.Closed`. An embedded directory closes (flushed,
        free for another process) once every handle on it in this process is closed or
        garbage-collected."""
        self._native.close()
        with _clusters_lock:
            for key, value in list(_clusters.items()):
                if value is self:
                    del _clusters[key]

    @property
    def closed(self) -> bool:
        return self._native.closed

    def __enter__(self) -> "Strata":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def flush(self) -> None:
        """Makes every write so far durable (each already is when it returns)."""
        self._native.flush()

    # ----- stores -----

    def kv_store(self) -> "StrataKVStore":
        from .kvstore import StrataKVStore

        return StrataKVStore(handle=self)

    def docstore(self, namespace: Optional[str] = None) -> "StrataDocumentStore":
        from .docstore import StrataDocumentStore

        return StrataDocumentStore(handle=self, namespace=namespace)

    def index_store(self, namespace: Optional[str] = None) -> "StrataIndexStore":
        from .index_store import StrataIndexStore

        return StrataIndexStore(handle=self, namespace=namespace)

    def chat_store(self) -> "StrataChatStore":
        from .chat_store import StrataChatStore

        return StrataChatStore(handle=self)

    def vector_store(self, namespace: str = "default", **kwargs: Any) -> "StrataVectorStore":
        from .vector_store import StrataVectorStore

        return StrataVectorStore(handle=self, namespace=namespace, **kwargs)

    def graph_store(self, graph: str = "default") -> "StrataGraphStore":
        from .graph_store import StrataGraphStore

        return StrataGraphStore(handle=self, graph=graph)

    def property_graph_store(self, graph: str = "default", **kwargs: Any) -> "StrataPropertyGraphStore":
        from .property_graph import StrataPropertyGraphStore

        return StrataPropertyGraphStore(handle=self, graph=graph, **kwargs)

    def vector_namespaces(self) -> List[str]:
        """The names of the vector namespaces that exist (``default`` and ``image``
        always)."""
        names = {ns["name"] for ns in self._call("vector", "namespaces", {})}
        return sorted(names | {"default", "image"})

    def storage_context(self, graph: str = "default") -> Any:
        """A LlamaIndex ``StorageContext`` whose docstore, index store, vector stores
        (every namespace that exists, ``default`` and ``image`` included), graph store
        and property graph store are this database's."""
        from llama_index.core.storage.storage_context import StorageContext

        return StorageContext(
            docstore=self.docstore(),
            index_store=self.index_store(),
            vector_stores={ns: self.vector_store(ns) for ns in self.vector_namespaces()},
            graph_store=self.graph_store(graph),
            property_graph_store=self.property_graph_store(graph),
        )


def resolve(
    handle: Optional[Strata] = None,
    path: Optional[Union[str, "os.PathLike[str]"]] = None,
    cluster: Optional[Union[str, Iterable[str]]] = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Strata:
    """The database a store constructed on its own uses: exactly one of ``handle``,
    ``path`` (embedded) or ``cluster`` (addresses)."""
    given = [x is not None for x in (handle, path, cluster)]
    if sum(given) != 1:
        raise ValueError("give exactly one of handle=, path= or cluster=")
    if handle is not None:
        return handle
    if path is not None:
        return Strata.open(path)
    return Strata.connect(cluster, timeout=timeout)  # type: ignore[arg-type]


# ----- LlamaIndex objects <-> the JSON the Rust side reads -----


def doc_json(node: Any) -> Dict[str, Any]:
    """``doc_to_json(node)``: what the docstore keeps."""
    from llama_index.core.storage.docstore.utils import doc_to_json

    return doc_to_json(node)


def doc_of(value: Dict[str, Any]) -> Any:
    """``json_to_doc(value)``."""
    from llama_index.core.storage.docstore.utils import json_to_doc

    return json_to_doc(value)


def embeddings_blob(rows: Sequence[Any], count: int) -> bytes:
    """Embeddings (lists or NumPy arrays, one per node) as one little-endian f64
    buffer: converted by NumPy, not by a Python loop over the numbers."""
    array = np.asarray(rows, dtype="<f8")
    if count == 0:
        return b""
    if array.ndim != 2 or array.shape[0] != count:
        raise ValueError(f"expected {count} embeddings of one dimension, got an array of shape {array.shape}")
    return np.ascontiguousarray(array).tobytes()


def query_json(query: Any) -> Dict[str, Any]:
    """A ``VectorStoreQuery`` without its embedding (which travels as a blob)."""
    mode = getattr(query.mode, "value", query.mode)
    return {
        "similarity_top_k": query.similarity_top_k,
        "doc_ids": query.doc_ids,
        "node_ids": query.node_ids,
        "query_str": query.query_str,
        "output_fields": query.output_fields,
        "embedding_field": query.embedding_field,
        "mode": mode,
        "alpha": query.alpha,
        "filters": filters_json(query.filters),
        "mmr_threshold": query.mmr_threshold,
        "sparse_top_k": query.sparse_top_k,
        "hybrid_top_k": query.hybrid_top_k,
    }


def query_blob(query: Any) -> Optional[bytes]:
    if query.query_embedding is None:
        return None
    return embeddings_blob([query.query_embedding], 1)


def filters_json(filters: Any) -> Optional[Dict[str, Any]]:
    """``MetadataFilters`` as pydantic dumps them (operators as their strings)."""
    if filters is None:
        return None
    return filters.model_dump(mode="json")
