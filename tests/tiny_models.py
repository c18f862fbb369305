"""Tiny BART and T5 checkpoints with random weights and a locally trained tokenizer.

Nothing is downloaded: the tokenizer is trained with `tokenizers` on generated sentences and the model is
built from a config. Good enough to prove the exporter and the runtime exact against PyTorch; the scores it
gives mean nothing.
"""

from __future__ import annotations

import random
from pathlib import Path

SEP = "<sep>"

_NAMES = ["Anna", "Boris", "Chen", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ivan", "Julia"]
_PLACES = ["Paris", "Lagos", "Oslo", "Lima", "Kyoto", "Cairo", "Quebec", "Zagreb"]
_THINGS = ["a bridge", "the school", "three houses", "a new library", "the harbour", "two parks"]
_VERBS = ["built", "visited", "sold", "opened", "closed", "painted", "designed", "funded"]


def corpus(n: int = 2000, seed: int = 0) -> list[str]:
    """Generated sentences plus question/answer strings, so the tokenizer sees both shapes."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        who, where, what, verb = (rng.choice(x) for x in (_NAMES, _PLACES, _THINGS, _VERBS))
        year = rng.randint(1900, 2030)
        out.append(f"{who} {verb} {what} in {where} in {year}.")
        out.append(f"Who {verb} {what}? {who}")
        out.append(f"Where did {who} go in {year}, and why?")
    out.append("Café naïve résumé — 東京 ✓ émoji 🙂")
    return out


def train_bpe_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", SEP],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    return tok


def train_unigram_tokenizer():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=300,
        special_tokens=["<pad>", "</s>", "<unk>", SEP],
        unk_token="<unk>",
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer)
    return tok


def build_bart(out: Path, seed: int = 0, d_model: int = 32, layers: int = 2, eos_bias: float = 3.5) -> Path:
    import torch
    from transformers import BartConfig, BartForConditionalGeneration

    tok = train_bpe_tokenizer()
    torch.manual_seed(seed)
    config = BartConfig(
        vocab_size=tok.get_vocab_size(),
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=4 * d_model,
        decoder_ffn_dim=4 * d_model,
        max_position_embeddings=128,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
        init_std=0.3,
        scale_embedding=False,
    )
    model = BartForConditionalGeneration(config).eval()
    model.final_logits_bias[0, config.eos_token_id] = eos_bias  # some hypotheses end early, some run long
    _save(model, tok, out, bos="<s>", eos="</s>", pad="<pad>", unk="<unk>")
    return out


def build_t5(out: Path, seed: int = 0, d_model: int = 32, layers: int = 2, eos_push: float = 4.5) -> Path:
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    tok = train_unigram_tokenizer()
    torch.manual_seed(seed)
    config = T5Config(
        vocab_size=tok.get_vocab_size(),
        d_model=d_model,
        d_kv=8,
        d_ff=4 * d_model,
        num_layers=layers,
        num_decoder_layers=layers,
        num_heads=4,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=32,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        initializer_factor=1.0,
        tie_word_embeddings=False,
    )
    model = T5ForConditionalGeneration(config).eval()
    # Random weights almost never pick EOS: turn the EOS row of the output layer towards the decoder's
    # mean state, so hypotheses end at various lengths and the searches' finishing rules get exercised.
    with torch.no_grad():
        probe = torch.tensor([tok.encode("Anna built a bridge in Paris in 1990.", add_special_tokens=False).ids + [1]])
        state = model(input_ids=probe, decoder_input_ids=torch.tensor([[0, 5, 6, 7, 8, 9]]), output_hidden_states=True)
        direction = state.decoder_hidden_states[-1].mean((0, 1))
        model.lm_head.weight[config.eos_token_id] += eos_push * direction / direction.norm()
    _save(model, tok, out, bos=None, eos="</s>", pad="<pad>", unk="<unk>")
    return out


def _save(model, tok, out: Path, **special) -> None:
    from transformers import PreTrainedTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    model.generation_config.forced_bos_token_id = None
    model.generation_config.forced_eos_token_id = None
    model.save_pretrained(out)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        model_input_names=["input_ids", "attention_mask"],
        additional_special_tokens=[SEP],
        **{f"{k}_token": v for k, v in special.items() if v is not None},
    )
    fast.save_pretrained(out)
