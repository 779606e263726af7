"""A minimal Janus-style tokenizer for the tiny test checkpoints (tests/data/models/tiny-janus*):
byte-level BPE with NO merges (every UTF-8 byte is one token, ids 0..255 in byte order) plus the Janus
special tokens (facts §3.1, §3.3) as added tokens matched as whole strings, and a TemplateProcessing
post-processor that prepends BOS like LlamaTokenizerFast. Also the SFT / generation prompt strings
(facts §3.4, §5.1). encode() here is the reference the C++ tokenizer must reproduce on these files.

Token ids: 0..255 bytes | 256 BOS | 257 EOS | 258 PAD | 259 BOI | 260 EOI | 261 <image_placeholder> |
262 <patch_placeholder> | 263..267 <|ref|> <|/ref|> <|det|> <|/det|> <|grounding|> | 268 <|User|> |
269 <|Assistant|>. The LM embedding has more rows than this (padding rows, as in Janus-Pro).
"""
import json
import os

BOS, EOS, PAD = "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "<\uff5cend\u2581of\u2581sentence\uff5c>", "<\uff5c\u2581pad\u2581\uff5c>"
BOI, EOI, IMG = "<begin_of_image>", "<end_of_image>", "<image_placeholder>"
USER, ASSISTANT = "<|User|>", "<|Assistant|>"
SPECIALS = [BOS, EOS, PAD, BOI, EOI, IMG, "<patch_placeholder>", "<|ref|>", "<|/ref|>", "<|det|>", "<|/det|>",
            "<|grounding|>", USER, ASSISTANT]
FIRST_SPECIAL = 256
DEFAULT_SYSTEM = ("You are a helpful language and vision assistant. You are able to understand the visual "
                  "content that the user provides, and assist the user with a variety of tasks using natural "
                  "language.")


def special_id(s):
    return FIRST_SPECIAL + SPECIALS.index(s)


def byte_chars():
    """GPT-2 byte -> printable unicode char table (the ByteLevel alphabet)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def encode(text, add_bos=True):
    """Special-token strings are cut out first (leftmost, longest), the rest becomes byte ids."""
    ids = [special_id(BOS)] if add_bos else []
    i = 0
    ordered = sorted(SPECIALS, key=len, reverse=True)
    buf = []
    while i < len(text):
        hit = next((s for s in ordered if text.startswith(s, i)), None)
        if hit:
            ids += list("".join(buf).encode("utf-8"))
            buf = []
            ids.append(special_id(hit))
            i += len(hit)
        else:
            buf.append(text[i])
            i += 1
    ids += list("".join(buf).encode("utf-8"))
    return ids


def sft_prompt(question, system=DEFAULT_SYSTEM, n_images=1):
    """Understanding prompt (facts §3.4): 'SYS\\n\\n<|User|>: <image_placeholder>\\n{q}\\n\\n<|Assistant|>:'."""
    images = "".join(IMG + "\n" for _ in range(n_images))
    s = (system + "\n\n" if system else "") + f"{USER}: {images}{question.strip()}\n\n{ASSISTANT}:"
    return s.strip()


def generation_prompt(prompt):
    """Text-to-image prompt (facts §5.1)."""
    return f"{USER}: {prompt.strip()}\n\n{ASSISTANT}:".strip() + BOI


def write_files(out_dir):
    """tokenizer.json, tokenizer_config.json, special_tokens_map.json in the Janus-Pro layout."""
    chars = byte_chars()
    vocab = {chars[b]: b for b in range(256)}
    added = [{"id": special_id(s), "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for s in SPECIALS]
    bos_id = special_id(BOS)
    tj = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": BOS, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {BOS: {"id": BOS, "ids": [bos_id], "tokens": [BOS]}}},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": []},
    }
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"add_bos_token": True, "add_eos_token": False, "bos_token": BOS, "eos_token": EOS,
                   "clean_up_tokenization_spaces": False, "legacy": True, "model_max_length": 16384,
                   "pad_token": None, "tokenizer_class": "LlamaTokenizer", "unk_token": None,
                   "use_default_system_prompt": True}, f, ensure_ascii=False, indent=2)
        f.write("\n")
    with open(os.path.join(out_dir, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump({"additional_special_tokens": SPECIALS[5:], "bos_token": BOS, "eos_token": EOS, "pad_token": PAD},
                  f, ensure_ascii=False, indent=2)
        f.write("\n")
