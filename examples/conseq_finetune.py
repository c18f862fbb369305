"""Fine-tune a summarizer on a ConSeq set built by `quals conseq`, with the authors' loss (quals-spec 7.2).

    quals conseq --input docs.jsonl --out build/conseq            # S+ / S- from QUALS
    python examples/conseq_finetune.py --data build/conseq --steps 5

Each step takes one batch of S+ rows (document -> reference) and the aligned S- rows (document -> its
lowest-QUALS candidate) and minimises label-smoothed NLL on S+ plus label-smoothed unlikelihood on S-,
normalised by all their tokens (quals.train.conseq_loss). With `--model` a local Hugging Face BART
checkpoint is fine-tuned (the authors started from their MLE BART-large); without it a tiny BART with
random weights and a tokenizer trained on the set itself is built here, which is enough to see the loss
work on a machine with no model hub. Needs the `train` extra (torch, transformers).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import torch
from quals.train.conseq_loss import conseq_loss


def read_set(data: Path) -> tuple[list[str], list[str], list[str]]:
    """Aligned (sources, S+, S-) from quals conseq's files (train.source / .target / .untarget)."""
    files = [data / f"train.{ext}" for ext in ("source", "target", "untarget")]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise SystemExit(f"error: {', '.join(missing)} not found; run `quals conseq --out {data}` first "
                         "(without --separate: this example needs S+ and S- aligned)")
    src, pos, neg = (f.read_text(encoding="utf-8").split("\n")[:-1] for f in files)
    if not (len(src) == len(pos) == len(neg)):
        raise SystemExit(f"error: {data}: train.source/target/untarget are not aligned "
                         f"({len(src)}, {len(pos)}, {len(neg)} lines)")
    if not src:
        raise SystemExit(f"error: {data} holds no document (see its report.json: raise --neg-ratio/--pos-ratio, "
                         "or score more documents)")
    return src, pos, neg


def tiny_bart(texts: list[str], out: Path):
    """A tiny BART and a byte-level BPE tokenizer trained on `texts` (nothing downloaded)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import BartConfig, BartForConditionalGeneration, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", pad_token="<pad>", eos_token="</s>",
                                   unk_token="<unk>", model_input_names=["input_ids", "attention_mask"])
    config = BartConfig(vocab_size=fast.vocab_size, d_model=32, encoder_layers=2, decoder_layers=2,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64,
                        decoder_ffn_dim=64, max_position_embeddings=256, pad_token_id=1, bos_token_id=0,
                        eos_token_id=2, decoder_start_token_id=2, forced_eos_token_id=2)
    torch.manual_seed(0)
    model = BartForConditionalGeneration(config)
    out.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(out)
    model.save_pretrained(out)
    return model, fast


def main(argv: list[str] | None = None) -> list[float]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="A `quals conseq --out` directory.")
    p.add_argument("--model", type=Path, default=None, help="A local HF BART checkpoint (default: a tiny one).")
    p.add_argument("--out", type=Path, default=Path("build/conseq-finetuned"))
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=3e-6, help="The authors' ConSeq rate (3e-6); a tiny model needs more.")
    p.add_argument("--max-source-tokens", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    src, pos, neg = read_set(a.data)
    if a.model is None:
        model, tok = tiny_bart(src + pos + neg, a.out / "init")
    else:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        model, tok = AutoModelForSeq2SeqLM.from_pretrained(a.model), AutoTokenizer.from_pretrained(a.model)
    rng = random.Random(a.seed)
    torch.manual_seed(a.seed)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    model.train()
    losses = []
    for step in range(a.steps):
        rows = rng.sample(range(len(src)), min(a.batch_size, len(src)))
        enc = tok([src[i] for i in rows], return_tensors="pt", padding=True, truncation=True,
                  max_length=a.max_source_tokens)
        labels = {}
        for name, texts in (("pos", pos), ("neg", neg)):
            ids = tok([texts[i] for i in rows], return_tensors="pt", padding=True, truncation=True,
                      max_length=64).input_ids
            labels[name] = ids
        pos_logits = model(**enc, labels=labels["pos"]).logits
        neg_logits = model(**enc, labels=labels["neg"]).logits
        loss, n_tokens = conseq_loss(pos_logits, labels["pos"], neg_logits, labels["neg"], pad_id=tok.pad_token_id)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)  # the authors' clip-norm
        opt.step()
        losses.append(float(loss))
        print(f"step {step + 1}/{a.steps}: loss {float(loss):.4f} over {n_tokens} tokens")
    model.save_pretrained(a.out)
    tok.save_pretrained(a.out)
    print(f"saved {a.out}")
    return losses


if __name__ == "__main__":
    main()
