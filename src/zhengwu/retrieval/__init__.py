"""Stage 4: understanding a question (``query``), hybrid retrieval and fusion (``retriever``), an optional
cross-encoder (``rerank``), and the retriever as a LangChain ``BaseRetriever`` (``langchain``)."""
