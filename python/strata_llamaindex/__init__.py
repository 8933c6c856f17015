"""Strata's stores for LlamaIndex, embedded in-process or on a replicated cluster.

    from strata_llamaindex import Strata
    strata = Strata.open("./strata-data")            # or Strata.connect(["host:7000"])
    storage_context = strata.storage_context()        # every store is Strata's
    index = VectorStoreIndex.from_documents(docs, storage_context=storage_context)

Each store class is also constructible on its own, as LlamaIndex's integrations are:
``StrataVectorStore(path="./strata-data", namespace="docs")`` or
``StrataVectorStore(cluster=["host:7000"], namespace="docs")``.
"""

from . import errors
from ._core import Strata
from .chat_store import StrataChatStore
from .docstore import StrataDocumentStore
from .errors import StrataError
from .graph_store import StrataGraphStore
from .index_store import StrataIndexStore
from .kvstore import StrataKVStore
from .property_graph import StrataPropertyGraphStore
from .vector_store import StrataVectorStore

__all__ = [
    "Strata",
    "StrataChatStore",
    "StrataDocumentStore",
    "StrataError",
    "StrataGraphStore",
    "StrataIndexStore",
    "StrataKVStore",
    "StrataPropertyGraphStore",
    "StrataVectorStore",
    "errors",
]
