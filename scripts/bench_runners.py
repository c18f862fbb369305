"""The runners `make bench` times (scripts/bench.py): quals, PyTorch's generate, Optimum and CTranslate2, each
behind one interface (generate on ids, then teacher-forced log-probs), so that every runner does the same work."""

from __future__ import annotations

import argparse


class Runner:
    """One engine's search and teacher forcing on token ids; `steps` of the last search is recorded.

    generate(ids) -> hypotheses (quals Hypothesis objects, tokens ending in EOS when they ended);
    logp(src_ids, targets) -> per-token log-probs of each target (EOS included when the target has it).
    """

    steps = 0


def counting_engine(bundle, threads: int):
    """An Engine that keeps the decoder states it starts (to count a search's steps): a subclass, not a patch."""
    from quals.engine import Engine

    class CountingEngine(Engine):
        states: list = []

        def start(self, enc, n_rows):
            self.states.append(super().start(enc, n_rows))
            return self.states[-1]

    return CountingEngine(bundle, threads=threads)


class QualsRunner(Runner):
    def __init__(self, bundle: str, threads: int, search: dict):
        from quals.bundle import load_bundle
        from quals.options import default_options
        from quals.scorer import Scorer

        b = load_bundle(bundle)
        self.engine = counting_engine(b, threads)
        self.scorer = Scorer(b, self.engine, default_options(b, **search))

    def generate(self, ids):
        self.engine.states.clear()
        hyps = self.scorer.search(self.engine.encode(ids), self.scorer.options.search)
        self.steps = sum(st.steps for st in self.engine.states)
        return hyps

    def logp(self, src_ids, targets):
        return self.engine.teacher_forced(self.engine.encode(src_ids), targets)


class TorchRunner(Runner):
    """transformers' generate on the PyTorch model, or on Optimum's ORTModelForSeq2SeqLM."""

    def __init__(self, kind: str, checkpoint: str, onnx_dir: str, threads: int, search: dict, tokens):
        import torch

        torch.set_num_threads(threads)
        self.torch, self.t = torch, tokens
        if kind == "torch":
            from transformers import AutoModelForSeq2SeqLM

            self.model = AutoModelForSeq2SeqLM.from_pretrained(checkpoint).eval()
        else:
            import onnxruntime as ort
            from optimum.onnxruntime import ORTModelForSeq2SeqLM

            so = ort.SessionOptions()
            so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
            self.model = ORTModelForSeq2SeqLM.from_pretrained(onnx_dir, session_options=so, use_cache=True,
                                                              provider="CPUExecutionProvider")
        self.kwargs = dict(num_beams=search["num_beams"], min_length=search["min_length"],
                           max_length=search["max_length"], length_penalty=search["length_penalty"],
                           num_return_sequences=search["num_beams"], do_sample=False, early_stopping=False,
                           output_scores=True, return_dict_in_generate=True)
        if search["num_groups"] > 1:
            self.kwargs.update(num_beam_groups=search["num_groups"], diversity_penalty=search["diversity"])

    def generate(self, ids):
        from quals.search import Hypothesis

        torch, eos, pad = self.torch, self.t.eos, self.t.pad
        with torch.no_grad():
            inp = torch.tensor([list(ids)])
            out = self.model.generate(input_ids=inp, attention_mask=torch.ones_like(inp), **self.kwargs)
        self.steps = out.sequences.shape[1] - 1
        hyps = []
        for row, s in zip(out.sequences[:, 1:].tolist(), out.sequences_scores.tolist()):
            finished = eos in row
            row = row[: row.index(eos) + 1] if finished else [t for t in row if t != pad]
            total = s * len(row)  # length_penalty 1: the summed score, spread evenly (ranking only)
            hyps.append(Hypothesis(tuple(row), tuple([total / len(row)] * len(row)), s, finished))
        return hyps

    def logp(self, src_ids, targets):
        torch, t = self.torch, self.t
        width = max(len(x) for x in targets)
        dec_in = torch.full((len(targets), width), t.pad, dtype=torch.long)
        tgt = torch.full((len(targets), width), t.pad, dtype=torch.long)
        for i, x in enumerate(targets):
            dec_in[i, : len(x)] = torch.tensor([t.decoder_start, *x[:-1]])
            tgt[i, : len(x)] = torch.tensor(x)
        inp = torch.tensor([list(src_ids)]).expand(len(targets), -1)
        with torch.no_grad():
            out = self.model(input_ids=inp, attention_mask=torch.ones_like(inp), decoder_input_ids=dec_in)
            lp = torch.log_softmax(out.logits.float(), dim=-1).gather(-1, tgt[..., None])[..., 0]
        return [lp[i, : len(x)].numpy() for i, x in enumerate(targets)]


class CT2Runner(Runner):
    """CTranslate2's Translator: plain beam search (it has no diverse search) and score_batch."""

    def __init__(self, model_dir: str, compute_type: str, threads: int, search: dict, tokens, vocab: list[str]):
        import ctranslate2

        self.tr = ctranslate2.Translator(model_dir, device="cpu", compute_type=compute_type,
                                         intra_threads=threads, inter_threads=1)
        self.t, self.vocab = tokens, vocab
        self.ids = {tok: i for i, tok in enumerate(vocab)}
        # transformers' lengths count the decoder start token; CTranslate2's count generated tokens
        self.kwargs = dict(beam_size=search["num_beams"], num_hypotheses=search["num_beams"],
                           min_decoding_length=max(0, search["min_length"] - 1),
                           max_decoding_length=search["max_length"] - 1, length_penalty=search["length_penalty"],
                           return_scores=True, return_end_token=True)

    def generate(self, ids):
        from quals.search import Hypothesis

        (res,) = self.tr.translate_batch([[self.vocab[i] for i in ids]], **self.kwargs)
        hyps = []
        for toks, s in zip(res.hypotheses, res.scores):
            row = tuple(self.ids[x] for x in toks)
            finished = bool(row) and row[-1] == self.t.eos
            hyps.append(Hypothesis(row, tuple([s] * len(row)), s, finished))
        self.steps = max(len(h.tokens) for h in hyps)
        return hyps

    def logp(self, src_ids, targets):
        """score_batch appends EOS itself: a target that ends in EOS is passed without it."""
        import numpy as np

        src = [self.vocab[i] for i in src_ids]
        tgts = [[self.vocab[i] for i in (x[:-1] if x and x[-1] == self.t.eos else x)] for x in targets]
        res = self.tr.score_batch([src] * len(tgts), tgts)
        return [np.asarray(r.log_probs[: len(x)], dtype=np.float32) for r, x in zip(res, targets)]


def make_runner(args: argparse.Namespace, search: dict, tokens, vocab) -> Runner:
    if args.runner == "quals":
        return QualsRunner(args.bundle, args.threads, search)
    if args.runner in ("torch", "optimum"):
        return TorchRunner(args.runner, args.checkpoint, args.optimum_dir, args.threads, search, tokens)
    if args.runner == "ct2":
        return CT2Runner(args.ct2_dir, args.compute_type, args.threads, search, tokens, vocab)
    raise SystemExit(f"unknown runner {args.runner!r}")
