"""Janus prompt templates used to train and evaluate janus-shapes (facts §3.4, §4.2, §5.1).

  generation:    "<|User|>: {prompt}\n\n<|Assistant|>:<begin_of_image>"   (empty system prompt)
  understanding: "{SYS}\n\n<|User|>: <image_placeholder>\n{question}\n\n<|Assistant|>:"
                 with <image_placeholder> expanded to BOI + N x <image_placeholder> + EOI (N = image
                 tokens of the SigLIP grid); the answer follows as " {caption}<｜end▁of▁sentence｜>".
Ids always start with BOS (the tokenizer's post-processor).
"""
from bpe_tokenizer import BOI, EOI, EOS, IMG, PAD
from shapes_data import SYSTEM_PROMPT


def generation_text(prompt):
    return f"<|User|>: {prompt.strip()}\n\n<|Assistant|>:" + BOI


def understanding_text(question, system=SYSTEM_PROMPT):
    sys_part = f"{system}\n\n" if system else ""
    return f"{sys_part}<|User|>: {IMG}\n{question.strip()}\n\n<|Assistant|>:"


def answer_text(caption):
    return f" {caption}{EOS}"


def generation_ids(tok, prompt):
    return tok.encode(generation_text(prompt))


def uncond_ids(tok, cond_ids):
    """Unconditional row of the CFG batch: positions 1..L-2 replaced by the pad id (facts §5.2)."""
    pad = tok.token_id(PAD)
    return [cond_ids[0]] + [pad] * (len(cond_ids) - 2) + [cond_ids[-1]]


def understanding_ids(tok, question, n_image_tokens):
    """Prompt ids with the placeholder expanded: BOI + n x IMG + EOI (facts §4.2)."""
    ids = tok.encode(understanding_text(question))
    img = tok.token_id(IMG)
    out = []
    for i in ids:
        if i == img:
            out += [tok.token_id(BOI)] + [img] * n_image_tokens + [tok.token_id(EOI)]
        else:
            out.append(i)
    return out
