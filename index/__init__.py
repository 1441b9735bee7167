"""Chunks → index: offline embeddings, dense (FAISS) and lexical (BM25) retrieval, fusion."""
