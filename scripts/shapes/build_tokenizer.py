"""Builds the janus-shapes tokenizer files into samples/models/janus-shapes/ (or --out DIR):
tokenizer.json (byte-level BPE trained on the caption/prompt/template corpus until every corpus word
is one token, plus the Janus special tokens), tokenizer_config.json and special_tokens_map.json in the
Janus-Pro layout (facts §3.1). Deterministic: fixed corpus seed, deterministic merge ties.

Usage: /usr/bin/python3 scripts/shapes/build_tokenizer.py [--out DIR]
"""
import argparse
import json
import os

import numpy as np

import bpe_tokenizer as bpe
import shapes_data as sd
import templates

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "..", "samples", "models", "janus-shapes"))


def corpus(n=3000, seed=1234):
    rng = np.random.default_rng(seed)
    texts = []
    for q in sd.QUESTIONS:
        texts.append(templates.understanding_text(q))
    for _ in range(n):
        s = sd.random_spec(rng)
        texts.append(templates.generation_text(sd.random_prompt(s, rng)))
        texts.append(templates.answer_text(sd.caption(s)))
    # Every vocabulary word with and without a leading space, lower and capitalised.
    for w in sd.all_words():
        texts += [w, " " + w, w.capitalize(), " " + w.capitalize()]
    return texts


def _write_json(path, obj, indent):
    """Atomic write (temp file + rename): training stages may run as parallel processes."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=indent)
        f.write("\n")
    os.replace(tmp, path)


def main_with_out(out):
    """Writes the three tokenizer files into out and self-checks them; returns the tokenizer."""
    os.makedirs(out, exist_ok=True)
    merges = bpe.train_bpe(corpus(), bpe.SPECIAL_TOKENS)
    tj = bpe.tokenizer_json(merges, bpe.SPECIAL_TOKENS)
    _write_json(os.path.join(out, "tokenizer.json"), tj, 1)
    cfg = {"add_bos_token": True, "add_eos_token": False, "bos_token": bpe.BOS, "eos_token": bpe.EOS,
           "clean_up_tokenization_spaces": False, "legacy": True, "model_max_length": 16384,
           "pad_token": None, "sp_model_kwargs": {}, "tokenizer_class": "LlamaTokenizer",
           "unk_token": None, "use_default_system_prompt": True}
    _write_json(os.path.join(out, "tokenizer_config.json"), cfg, 2)
    stm = {"additional_special_tokens": [bpe.IMG, "<patch_placeholder>", "<|ref|>", "<|/ref|>", "<|det|>",
                                         "<|/det|>", "<|grounding|>", "<|User|>", "<|Assistant|>"],
           "bos_token": bpe.BOS, "eos_token": bpe.EOS, "pad_token": bpe.PAD}
    _write_json(os.path.join(out, "special_tokens_map.json"), stm, 2)
    tok = bpe.Tokenizer(tj)
    # Self-check: every corpus word is a single token, and encode/decode round-trips.
    for w in sd.all_words():
        assert len(tok.encode(" " + w, add_bos=False)) == 1, w
    t = templates.understanding_text(sd.QUESTIONS[0]) + templates.answer_text("a small red circle at the top left on a blue background")
    ids = tok.encode(t)
    assert tok.decode(ids, skip_special=False) == bpe.BOS + t, tok.decode(ids, skip_special=False)
    print(f"tokenizer: {len(merges)} merges, {len(tok)} tokens; understanding prompt+answer = {len(ids)} ids")
    return tok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    tok = main_with_out(ap.parse_args().out)
    print("gen ids:", templates.generation_ids(tok, "a red circle on a blue background"))


if __name__ == "__main__":
    main()
