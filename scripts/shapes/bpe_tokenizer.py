"""Byte-level BPE for janus-shapes: trains a small tokenizer.json (Hugging Face `tokenizers` format) and
encodes/decodes with it exactly the way that library does for this configuration, in pure Python
(Debian ships no `tokenizers` wheel).

tokenizer.json layout written here (the standard GPT-2 style byte-level BPE):
  normalizer null; pre_tokenizer ByteLevel(add_prefix_space=false, trim_offsets=true, use_regex=true)
  (the GPT-2 split regex below, then bytes -> printable unicode); model BPE (vocab: the 256 byte
  symbols, then one token per merge in merge order; merges "a b"); decoder ByteLevel; post_processor
  TemplateProcessing that prepends BOS (the Janus tokenizers add BOS, facts §3.1); added tokens: the
  Janus special tokens (facts §3.1, §3.3), matched as whole strings before BPE.
Ids: bytes 0..255 (in GPT-2 byte-symbol order), merges 256.., then the added tokens.
"""
import json
import re
from collections import Counter

# Janus special tokens, in the id order of the Janus-Pro-1B tokenizer (facts §3.3) without the 576
# unnamed tokens between BOI and EOI.
BOS = "<｜begin▁of▁sentence｜>"
EOS = "<｜end▁of▁sentence｜>"
PAD = "<｜▁pad▁｜>"
BOI = "<begin_of_image>"
EOI = "<end_of_image>"
IMG = "<image_placeholder>"
SPECIAL_TOKENS = [BOS, EOS, PAD, BOI, EOI, IMG, "<patch_placeholder>", "<|ref|>", "<|/ref|>", "<|det|>",
                  "<|/det|>", "<|grounding|>", "<|User|>", "<|Assistant|>"]

# GPT-2 pre-tokenizer regex (what ByteLevel use_regex=true applies), \p{L} / \p{N} written for Python's
# re: [^\W\d_] = letters, \d = digits. Identical to the Rust regex on ASCII text, which is all that the
# janus-shapes corpus holds.
GPT2_SPLIT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_ENC = bytes_to_unicode()
BYTE_DEC = {v: k for k, v in BYTE_ENC.items()}


def pre_tokenize(text):
    return ["".join(BYTE_ENC[b] for b in piece.encode("utf-8")) for piece in GPT2_SPLIT.findall(text)]


def split_added(text, specials):
    """Splits text into (is_special, piece) keeping special-token strings whole (leftmost, longest)."""
    out, i, buf = [], 0, []
    ordered = sorted(specials, key=len, reverse=True)
    while i < len(text):
        hit = next((s for s in ordered if text.startswith(s, i)), None)
        if hit:
            if buf:
                out.append((False, "".join(buf)))
                buf = []
            out.append((True, hit))
            i += len(hit)
        else:
            buf.append(text[i])
            i += 1
    if buf:
        out.append((False, "".join(buf)))
    return out


def train_bpe(texts, specials):
    """Classic BPE training on the pre-tokenized words of texts (special tokens cut out): merge the most
    frequent adjacent pair (ties: lexicographically smallest) until every word is one token.
    Returns the merge list [(a, b), ...]."""
    words = Counter()
    for t in texts:
        for is_sp, piece in split_added(t, specials):
            if not is_sp:
                words.update(pre_tokenize(piece))
    seqs = {w: list(w) for w in words}
    merges = []
    while True:
        pairs = Counter()
        for w, n in words.items():
            s = seqs[w]
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += n
        if not pairs:
            return merges
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        for w in words:
            s = seqs[w]
            j, out = 0, []
            while j < len(s):
                if j + 1 < len(s) and (s[j], s[j + 1]) == best:
                    out.append(s[j] + s[j + 1])
                    j += 2
                else:
                    out.append(s[j])
                    j += 1
            seqs[w] = out


def tokenizer_json(merges, specials):
    vocab = {}
    for b in range(256):  # byte symbols in byte order
        vocab[BYTE_ENC[b]] = b
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    added = []
    for s in specials:
        added.append({"id": len(vocab) + len(added), "content": s, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": True})
    bos_id = added[0]["id"]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": BOS, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {BOS: {"id": BOS, "ids": [bos_id], "tokens": [BOS]}},
        },
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }


class Tokenizer:
    """Encoder/decoder for a tokenizer.json written by tokenizer_json() (same semantics as HF
    `tokenizers` for this configuration: added tokens first, GPT-2 split, byte-level BPE by merge rank,
    BOS via the post-processor)."""

    def __init__(self, path_or_dict):
        tj = path_or_dict if isinstance(path_or_dict, dict) else json.load(open(path_or_dict, encoding="utf-8"))
        m = tj["model"]
        self.vocab = dict(m["vocab"])
        self.ranks = {tuple(x.split(" ")) if isinstance(x, str) else tuple(x): i for i, x in enumerate(m["merges"])}
        self.added = {a["content"]: a["id"] for a in tj["added_tokens"]}
        self.special_ids = {a["id"] for a in tj["added_tokens"] if a["special"]}
        self.id_to_tok = {i: t for t, i in self.vocab.items()}
        self.id_to_tok.update({i: t for t, i in self.added.items()})
        self.cache = {}

    def __len__(self):
        return len(self.id_to_tok)

    def token_id(self, s):
        return self.added[s] if s in self.added else self.vocab[s]

    def _bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        s = list(word)
        while len(s) > 1:
            best = min(((self.ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(s, s[1:]))))
            if best[0] == 1 << 30:
                break
            i = best[1]
            s = s[:i] + [s[i] + s[i + 1]] + s[i + 2:]
        ids = [self.vocab[x] for x in s]
        self.cache[word] = ids
        return ids

    def encode(self, text, add_bos=True):
        ids = [self.added[BOS]] if add_bos else []
        for is_sp, piece in split_added(text, list(self.added)):
            if is_sp:
                ids.append(self.added[piece])
            else:
                for w in pre_tokenize(piece):
                    ids += self._bpe(w)
        return ids

    def decode(self, ids, skip_special=True):
        out, buf = [], []
        for i in ids:
            t = self.id_to_tok[int(i)]
            if int(i) in self.added.values():
                if buf:
                    out.append(bytes(BYTE_DEC[c] for c in "".join(buf)).decode("utf-8", "replace"))
                    buf = []
                if not (skip_special and int(i) in self.special_ids):
                    out.append(t)
            else:
                buf.append(t)
        if buf:
            out.append(bytes(BYTE_DEC[c] for c in "".join(buf)).decode("utf-8", "replace"))
        return "".join(out)
