"""Raw, unsafe-by-default primitives over OpenSSL 3 libcrypto (ctypes).

Nothing here is public API: callers use :mod:`gm.sm2`, which validates input, picks safe defaults
(explicit signer ID, canonical encodings) and runs the known-answer self-test first.
"""
