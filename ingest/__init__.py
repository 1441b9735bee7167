"""Corpus → chunks: read source documents and split them into citable, structured chunks."""
