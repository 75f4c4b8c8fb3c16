"""The retriever as a LangChain ``BaseRetriever``, so integrators can use it inside their own chains."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from zhengwu.retrieval.retriever import Filters, Retriever


class ZhengwuRetriever(BaseRetriever):
    """Each result is one document's best chunk, with citation metadata (title, section, source_url, score).

    >>> retriever = ZhengwuRetriever(retriever=assistant.retriever, k=4)
    >>> retriever.invoke("弩的运输审批的咨询电话是多少？")
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any
    k: int = 4
    filters: Filters = Filters()

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LCDocument]:
        engine: Retriever = self.retriever
        hits = engine.retrieve(query, self.filters, k=self.k)
        store = engine.index.store
        chunks = store.get_chunks([h.chunks[0][0] for h in hits if h.chunks])
        out: list[LCDocument] = []
        for h in hits:
            best = chunks.get(h.chunks[0][0]) if h.chunks else None
            if best is None:
                first = store.chunks_of(h.doc.doc_id)
                best = first[0] if first else None
            out.append(
                LCDocument(
                    page_content=best.text if best else h.doc.title,
                    metadata={
                        "doc_id": h.doc.doc_id,
                        "title": h.doc.title,
                        "section": best.section if best else "",
                        "source_url": h.doc.source_url,
                        "region": h.doc.region,
                        "doc_type": h.doc.doc_type,
                        "score": round(h.score, 4),
                    },
                )
            )
        return out
