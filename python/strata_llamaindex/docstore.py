"""``StrataDocumentStore``: LlamaIndex's ``BaseDocumentStore`` (``KVDocumentStore``'s
semantics) on Strata. Every batch call is one native call: ``add_documents`` of up to
4,096 nodes is one atomic write (larger calls are written in batches of 4,096, in
order, each atomic), ``get_nodes`` one read."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from llama_index.core.schema import BaseNode
from llama_index.core.storage.docstore.types import DEFAULT_BATCH_SIZE, BaseDocumentStore, RefDocInfo

from ._core import DEFAULT_TIMEOUT, Strata, doc_json, doc_of, resolve

DEFAULT_NAMESPACE = "docstore"


def _ref_doc_info(value: Optional[dict]) -> Optional[RefDocInfo]:
    if value is None:
        return None
    return RefDocInfo(node_ids=value.get("node_ids", []), metadata=value.get("metadata", {}))


class StrataDocumentStore(BaseDocumentStore):
    """Nodes by id, their hashes and their source documents' info, in one namespace."""

    def __init__(
        self,
        handle: Optional[Strata] = None,
        namespace: Optional[str] = None,
        *,
        path: Optional[str] = None,
        cluster: Any = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._strata = resolve(handle, path, cluster, timeout)
        self._namespace = namespace or DEFAULT_NAMESPACE

    @property
    def strata(self) -> Strata:
        return self._strata

    @property
    def namespace(self) -> str:
        return self._namespace

    def _args(self, **kw: Any) -> Dict[str, Any]:
        kw["namespace"] = self._namespace
        return kw

    def _c(self, op: str, **kw: Any) -> Any:
        return self._strata._call("docstore", op, self._args(**kw))

    async def _a(self, op: str, **kw: Any) -> Any:
        return await self._strata._acall("docstore", op, self._args(**kw))

    def persist(self, persist_path: str = "", fs: Any = None) -> None:
        """Nothing to do: every write is durable when it returns."""

    @property
    def docs(self) -> Dict[str, BaseNode]:
        return {k: doc_of(v) for k, v in self._c("docs").items()}

    def add_documents(
        self,
        docs: Sequence[BaseNode],
        allow_update: bool = True,
        batch_size: int = DEFAULT_BATCH_SIZE,
        store_text: bool = True,
    ) -> None:
        self._c(
            "add_documents", docs=[doc_json(d) for d in docs], allow_update=allow_update, store_text=store_text
        )

    async def async_add_documents(
        self,
        docs: Sequence[BaseNode],
        allow_update: bool = True,
        batch_size: int = DEFAULT_BATCH_SIZE,
        store_text: bool = True,
    ) -> None:
        await self._a(
            "add_documents", docs=[doc_json(d) for d in docs], allow_update=allow_update, store_text=store_text
        )

    def get_document(self, doc_id: str, raise_error: bool = True) -> Optional[BaseNode]:
        found = self._c("get_document", doc_id=doc_id, raise_error=raise_error)
        return None if found is None else doc_of(found)

    async def aget_document(self, doc_id: str, raise_error: bool = True) -> Optional[BaseNode]:
        found = await self._a("get_document", doc_id=doc_id, raise_error=raise_error)
        return None if found is None else doc_of(found)

    def get_nodes(self, node_ids: List[str], raise_error: bool = True) -> List[BaseNode]:
        return [doc_of(d) for d in self._c("get_nodes", node_ids=list(node_ids), raise_error=raise_error)]

    async def aget_nodes(self, node_ids: List[str], raise_error: bool = True) -> List[BaseNode]:
        found = await self._a("get_nodes", node_ids=list(node_ids), raise_error=raise_error)
        return [doc_of(d) for d in found]

    def get_node_dict(self, node_id_dict: Dict[int, str]) -> Dict[int, BaseNode]:
        found = self._c("get_node_dict", node_id_dict={str(k): v for k, v in node_id_dict.items()})
        return {int(k): doc_of(v) for k, v in found.items()}

    async def aget_node_dict(self, node_id_dict: Dict[int, str]) -> Dict[int, BaseNode]:
        found = await self._a("get_node_dict", node_id_dict={str(k): v for k, v in node_id_dict.items()})
        return {int(k): doc_of(v) for k, v in found.items()}

    def delete_document(self, doc_id: str, raise_error: bool = True) -> None:
        self._c("delete_document", doc_id=doc_id, raise_error=raise_error)

    async def adelete_document(self, doc_id: str, raise_error: bool = True) -> None:
        await self._a("delete_document", doc_id=doc_id, raise_error=raise_error)

    def document_exists(self, doc_id: str) -> bool:
        return self._c("document_exists", doc_id=doc_id)

    async def adocument_exists(self, doc_id: str) -> bool:
        return await self._a("document_exists", doc_id=doc_id)

    def ref_doc_exists(self, ref_doc_id: str) -> bool:
        return self._c("ref_doc_exists", ref_doc_id=ref_doc_id)

    async def aref_doc_exists(self, ref_doc_id: str) -> bool:
        return await self._a("ref_doc_exists", ref_doc_id=ref_doc_id)

    def set_document_hash(self, doc_id: str, doc_hash: str) -> None:
        self._c("set_document_hashes", doc_hashes={doc_id: doc_hash})

    async def aset_document_hash(self, doc_id: str, doc_hash: str) -> None:
        await self._a("set_document_hashes", doc_hashes={doc_id: doc_hash})

    def set_document_hashes(self, doc_hashes: Dict[str, str]) -> None:
        self._c("set_document_hashes", doc_hashes=dict(doc_hashes))

    async def aset_document_hashes(self, doc_hashes: Dict[str, str]) -> None:
        await self._a("set_document_hashes", doc_hashes=dict(doc_hashes))

    def get_document_hash(self, doc_id: str) -> Optional[str]:
        return self._c("get_document_hash", doc_id=doc_id)

    async def aget_document_hash(self, doc_id: str) -> Optional[str]:
        return await self._a("get_document_hash", doc_id=doc_id)

    def get_all_document_hashes(self) -> Dict[str, str]:
        return self._c("get_all_document_hashes")

    async def aget_all_document_hashes(self) -> Dict[str, str]:
        return await self._a("get_all_document_hashes")

    def get_all_ref_doc_info(self) -> Optional[Dict[str, RefDocInfo]]:
        found = self._c("get_all_ref_doc_info")
        return {k: _ref_doc_info(v) for k, v in found.items()}  # type: ignore[misc]

    async def aget_all_ref_doc_info(self) -> Optional[Dict[str, RefDocInfo]]:
        found = await self._a("get_all_ref_doc_info")
        return {k: _ref_doc_info(v) for k, v in found.items()}  # type: ignore[misc]

    def get_ref_doc_info(self, ref_doc_id: str) -> Optional[RefDocInfo]:
        return _ref_doc_info(self._c("get_ref_doc_info", ref_doc_id=ref_doc_id))

    async def aget_ref_doc_info(self, ref_doc_id: str) -> Optional[RefDocInfo]:
        return _ref_doc_info(await self._a("get_ref_doc_info", ref_doc_id=ref_doc_id))

    def delete_ref_doc(self, ref_doc_id: str, raise_error: bool = True) -> None:
        self._c("delete_ref_doc", ref_doc_id=ref_doc_id, raise_error=raise_error)

    async def adelete_ref_doc(self, ref_doc_id: str, raise_error: bool = True) -> None:
        await self._a("delete_ref_doc", ref_doc_id=ref_doc_id, raise_error=raise_error)
