"""Text → vectors: the `Encoder` protocol (`base`), one factory (`factory`), one module per
encoder; `convert` builds the models offline. Knows texts, never chunks or indexes."""
