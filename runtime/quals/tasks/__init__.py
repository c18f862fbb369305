"""The jobs built on the scorer: reading and writing record files (io, resume), agreement with human labels
(evaluate, metrics), ConSeq training data (conseq), explain pages (explain) and conformance vectors for other
hosts (conformance). The CLI parses options and calls these; they raise, and never print or exit.
"""
