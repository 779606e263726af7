#!/usr/bin/python3
"""Make the checkpoint-reader fixtures under tests/data/io/ (run with Debian's /usr/bin/python3,
which has torch 1.13 and numpy).

Good files are written by the real writers: torch.save for .bin zips (bf16/f16/f32/f64/ints/bool,
a non-contiguous view, storage offsets, shared storages, nn.Module state dicts with _metadata,
nn.Parameter values, a nested {"state_dict": ...} dict, a sharded .bin with its index json) and a
small safetensors writer written here from the format spec (the `safetensors` package is not
installed): 8-byte little-endian header length, JSON header, raw little-endian data.

golden.json records, for every good file, each tensor's dtype, shape and values (flattened,
row-major, as exact float64/int) read back through torch, so the C++ tests compare against an
independent reader. Malformed variants go to tests/data/io/bad/ and each must give a janus::Error
naming the file.

Usage: /usr/bin/python3 scripts/reference/make_io_fixtures.py [OUT_DIR]
"""
import collections
import io
import json
import os
import pickle
import shutil
import struct
import sys
import zipfile
import zlib

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "data", "io")
BAD = os.path.join(OUT, "bad")

ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
             torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
             torch.uint8: "U8", torch.bool: "BOOL"}
JANUS_DTYPES = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.float64: "f64",
                torch.int64: "i64", torch.int32: "i32", torch.int16: "i16", torch.int8: "i8",
                torch.uint8: "u8", torch.bool: "bool"}


# ---------------------------------------------------------------------------------------------
# helpers

def raw_bytes(t):
    """Little-endian bytes of a tensor's elements in row-major order."""
    t = t.contiguous()
    if t.dtype in (torch.bfloat16, torch.float16):
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def golden_of(t):
    values = t.double().flatten().tolist() if t.dtype.is_floating_point else t.long().flatten().tolist()
    return {"dtype": JANUS_DTYPES[t.dtype], "shape": list(t.shape), "values": values}


def write_safetensors(path, tensors, metadata=None, edit=None, pad_to=8, extra_pad=0):
    """Writes tensors (name -> torch tensor) in insertion order. `edit(header)` may corrupt the
    header dict before it is serialised; `extra_pad` spaces shift the data start (misalignment)."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        b = raw_bytes(t)
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    if metadata:
        header["__metadata__"] = metadata
    if edit:
        edit(header)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((pad_to - len(h) % pad_to) % pad_to) + b" " * extra_pad
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def write_zip(path, entries, align=64, zip64=False, deflate=()):
    """A stored zip like torch's writer (local headers padded with an extra field so data starts
    `align`-aligned). zip64=True writes every size/offset through zip64 extra fields and a zip64 end
    record. Entry names in `deflate` are compressed (method 8) instead."""
    out = bytearray()
    central = []
    for name, data in entries:
        nb = name.encode()
        method = 8 if name in deflate else 0
        payload = data
        if method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            payload = c.compress(data) + c.flush()
        crc = zlib.crc32(data) & 0xffffffff
        offset = len(out)
        extra = b""
        if zip64:
            extra = struct.pack("<HHQQ", 1, 16, len(data), len(payload))
        base = offset + 30 + len(nb) + len(extra)
        pad = (-(base + 4)) % align if align else 0
        if align:
            extra += struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # 'FB' padding field, as torch does
        size32 = 0xffffffff if zip64 else len(data)
        csize32 = 0xffffffff if zip64 else len(payload)
        out += struct.pack("<IHHHHHIIIHH", 0x04034b50, 45 if zip64 else 20, 0, method, 0, 0x21, crc,
                           csize32, size32, len(nb), len(extra)) + nb + extra + payload
        central.append((nb, method, crc, len(payload), len(data), offset))
    cd_start = len(out)
    for nb, method, crc, csize, size, offset in central:
        if zip64:
            extra = struct.pack("<HHQQQ", 1, 24, size, csize, offset)
            out += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, method, 0, 0x21, crc, 0xffffffff,
                               0xffffffff, len(nb), len(extra), 0, 0, 0, 0, 0xffffffff) + nb + extra
        else:
            out += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, method, 0, 0x21, crc, csize, size,
                               len(nb), 0, 0, 0, 0, 0, offset) + nb
    cd_size = len(out) - cd_start
    if zip64:
        z64 = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, len(central), len(central), cd_size, cd_start)
        out += struct.pack("<IIQI", 0x07064b50, 0, z64, 1)
        out += struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 0xffff, 0xffff, 0xffffffff, 0xffffffff, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, len(central), len(central), cd_size, cd_start, 0)
    with open(path, "wb") as f:
        f.write(out)


def zip_entries(path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


class FakeStorage:
    def __init__(self, key, storage_type, numel):
        self.key, self.storage_type, self.numel = key, storage_type, numel


class FakeTensor:
    """Pickles exactly like torch's tensor reduce, but with any storage/offset/size/stride."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class TorchLikePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", obj.storage_type, obj.key, "cpu", obj.numel)
        return None


def fake_torch_zip(path, state, storages, extra_entries=(), archive="archive"):
    """state: dict name -> FakeTensor; storages: key -> bytes."""
    buf = io.BytesIO()
    TorchLikePickler(buf, protocol=2).dump(state)
    entries = [(archive + "/data.pkl", buf.getvalue())]
    entries += [(archive + "/data/" + k, v) for k, v in storages.items()]
    entries += list(extra_entries)
    entries.append((archive + "/version", b"3\n"))
    write_zip(path, entries)


def torch_zip_with_pickle(path, pkl_bytes):
    write_zip(path, [("archive/data.pkl", pkl_bytes), ("archive/version", b"3\n")])


# ---------------------------------------------------------------------------------------------
# good fixtures

def main():
    torch.manual_seed(1234)
    # Regenerate everything this script owns; tests/data/io/configs/ is hand-written and kept.
    os.makedirs(OUT, exist_ok=True)
    for entry in os.listdir(OUT):
        if entry != "configs":
            path = os.path.join(OUT, entry)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    os.makedirs(BAD)
    golden = {}

    def record(fname, sd):
        golden[fname] = {k: golden_of(v) for k, v in sd.items()}

    dtypes = collections.OrderedDict()
    dtypes["bf16"] = torch.randn(4, 8).bfloat16()
    dtypes["f16"] = torch.randn(3, 5).half()
    dtypes["f32"] = torch.randn(2, 3, 4)
    dtypes["f64"] = torch.randn(3).double()
    dtypes["i64"] = torch.tensor([-5, 0, 2 ** 40, 7], dtype=torch.int64)
    dtypes["i32"] = torch.randint(-1000, 1000, (5,), dtype=torch.int32)
    dtypes["i16"] = torch.randint(-300, 300, (2, 2), dtype=torch.int16)
    dtypes["i8"] = torch.randint(-128, 127, (6,), dtype=torch.int8)
    dtypes["u8"] = torch.randint(0, 255, (6,), dtype=torch.uint8)
    dtypes["bool"] = torch.tensor([True, False, True])
    dtypes["scalar"] = torch.tensor(3.5)
    dtypes["empty"] = torch.zeros(0, 3)
    dtypes["rank6"] = torch.randn(1, 2, 1, 2, 1, 3)

    torch.save(dtypes, os.path.join(OUT, "torch_dtypes.bin"))
    record("torch_dtypes.bin", dtypes)
    write_safetensors(os.path.join(OUT, "st_dtypes.safetensors"), dtypes, metadata={"format": "pt"})
    record("st_dtypes.safetensors", dtypes)
    # Data start not a multiple of 4: the reader must copy f32/f64/... rather than misread.
    write_safetensors(os.path.join(OUT, "st_misaligned.safetensors"), dtypes, pad_to=1, extra_pad=1)
    record("st_misaligned.safetensors", dtypes)

    # Views: storage offsets, shared storages, a transposed (non-contiguous) and a strided view.
    base = torch.arange(40, dtype=torch.float32) * 0.25
    w = torch.randn(6, 4).bfloat16()
    views = collections.OrderedDict()
    views["full"] = base
    views["slice"] = base[10:20]
    views["matrix"] = base[4:16].view(3, 4)
    views["transposed"] = base[0:12].view(3, 4).t()
    views["stepped"] = base[::5]
    views["w"] = w
    views["w_row2"] = w[2]
    views["w_col1"] = w[:, 1]
    torch.save(views, os.path.join(OUT, "torch_views.bin"))
    record("torch_views.bin", views)

    # A real module state dict (pickles _metadata via BUILD) in bf16, plus nn.Parameter values.
    mod = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3), torch.nn.Embedding(5, 2)).bfloat16()
    sd = mod.state_dict()
    torch.save(sd, os.path.join(OUT, "torch_module.bin"))
    record("torch_module.bin", sd)
    params = collections.OrderedDict(p=torch.nn.Parameter(torch.randn(2, 2)), q=torch.nn.Parameter(torch.randn(3).half()))
    torch.save(params, os.path.join(OUT, "torch_params.bin"))
    record("torch_params.bin", {k: v.detach() for k, v in params.items()})
    nested = {"state_dict": collections.OrderedDict(a=torch.randn(2), b=torch.ones(1, dtype=torch.int64)), "epoch": 3}
    torch.save(nested, os.path.join(OUT, "torch_nested.bin"))
    record("torch_nested.bin", {"state_dict." + k: v for k, v in nested["state_dict"].items()})

    # zip64: the same archive re-packed with every size/offset in zip64 fields; torch must read it.
    write_zip(os.path.join(OUT, "torch_zip64.bin"), zip_entries(os.path.join(OUT, "torch_dtypes.bin")), zip64=True)
    back = torch.load(os.path.join(OUT, "torch_zip64.bin"))
    assert all(torch.equal(back[k], v) for k, v in dtypes.items()), "torch cannot read our zip64 file"
    record("torch_zip64.bin", dtypes)
    # A byteorder record (torch >= 2.1 writes one; 1.13 does not).
    write_zip(os.path.join(OUT, "torch_byteorder.bin"),
              zip_entries(os.path.join(OUT, "torch_views.bin")) + [("torch_views/byteorder", b"little")])
    record("torch_byteorder.bin", views)

    # Sharded .bin and sharded safetensors with index json.
    s1 = collections.OrderedDict([("a.weight", torch.randn(3, 2).bfloat16()), ("a.bias", torch.randn(3).bfloat16())])
    s2 = collections.OrderedDict([("b.weight", torch.randn(2, 3).bfloat16())])
    for kind in ("bin", "st"):
        d = os.path.join(OUT, "sharded_" + kind)
        os.makedirs(d)
        names = (["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"] if kind == "bin"
                 else ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
        for shard, sdict in zip(names, (s1, s2)):
            if kind == "bin":
                torch.save(sdict, os.path.join(d, shard))
            else:
                write_safetensors(os.path.join(d, shard), sdict, metadata={"format": "pt"})
        wm = {k: names[0] for k in s1}
        wm.update({k: names[1] for k in s2})
        total = sum(v.numel() * v.element_size() for v in list(s1.values()) + list(s2.values()))
        index = "pytorch_model.bin.index.json" if kind == "bin" else "model.safetensors.index.json"
        with open(os.path.join(d, index), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": wm}, f, indent=2)
        record("sharded_" + kind, collections.OrderedDict(list(s1.items()) + list(s2.items())))

    # `janus info` inputs: a tiny Llama with one tensor missing, one unexpected and one mis-shaped,
    # and a model whose config names an unsupported architecture.
    d = os.path.join(OUT, "info_llama")
    os.makedirs(d)
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8, "intermediate_size": 16,
           "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 16,
           "max_position_embeddings": 64, "torch_dtype": "bfloat16"}
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
    t = collections.OrderedDict()
    t["model.embed_tokens.weight"] = torch.randn(16, 8).bfloat16()
    for i in range(2):
        p = "model.layers.%d." % i
        t[p + "input_layernorm.weight"] = torch.ones(8).bfloat16()
        t[p + "self_attn.q_proj.weight"] = torch.randn(8, 8).bfloat16()
        t[p + "self_attn.k_proj.weight"] = torch.randn(4, 8).bfloat16()
        t[p + "self_attn.v_proj.weight"] = torch.randn(4, 8).bfloat16()
        t[p + "self_attn.o_proj.weight"] = torch.randn(8, 8).bfloat16()
        t[p + "post_attention_layernorm.weight"] = torch.ones(8).bfloat16()
        t[p + "mlp.gate_proj.weight"] = torch.randn(16, 8).bfloat16()
        if i == 0:
            t[p + "mlp.up_proj.weight"] = torch.randn(16, 8).bfloat16()
        t[p + "mlp.down_proj.weight"] = torch.randn(8, 16).bfloat16()
    t["model.layers.0.self_attn.rotary_emb.inv_freq"] = torch.randn(2)
    t["model.norm.weight"] = torch.ones(9).bfloat16()
    t["lm_head.weight"] = torch.randn(16, 8).bfloat16()
    write_safetensors(os.path.join(d, "model.safetensors"), t, metadata={"format": "pt"})
    d = os.path.join(OUT, "info_unknown_arch")
    os.makedirs(d)
    json.dump({"architectures": ["MistralForCausalLM"], "model_type": "mistral"}, open(os.path.join(d, "config.json"), "w"))
    write_safetensors(os.path.join(d, "model.safetensors"), {"x": torch.zeros(2)})

    # -----------------------------------------------------------------------------------------
    # malformed fixtures
    small = collections.OrderedDict([("x", torch.randn(2, 2)), ("y", torch.randn(3).bfloat16())])
    good_st = os.path.join(BAD, "tmp.safetensors")
    write_safetensors(good_st, small)
    data = open(good_st, "rb").read()
    os.remove(good_st)
    open(os.path.join(BAD, "st_truncated.safetensors"), "wb").write(data[:-5])
    open(os.path.join(BAD, "st_tiny.safetensors"), "wb").write(data[:5])
    open(os.path.join(BAD, "st_header_beyond_file.safetensors"), "wb").write(struct.pack("<Q", len(data) + 100) + data[8:])
    hdr = b'{"x": {"dtype": "F32", "shape": [2'
    open(os.path.join(BAD, "st_bad_json.safetensors"), "wb").write(struct.pack("<Q", len(hdr)) + hdr)

    def st_bad(name, edit):
        write_safetensors(os.path.join(BAD, name), small, edit=edit)

    st_bad("st_overlap.safetensors", lambda h: h["y"].update(data_offsets=[10, 16]))
    st_bad("st_out_of_range.safetensors", lambda h: h["y"].update(data_offsets=[16, 16 + 6 + 4096]) or
           h["y"].update(shape=[2051]))
    st_bad("st_bad_dtype.safetensors", lambda h: h["x"].update(dtype="Q7"))
    st_bad("st_shape_mismatch.safetensors", lambda h: h["x"].update(shape=[3, 3]))
    st_bad("st_negative_dim.safetensors", lambda h: h["x"].update(shape=[-2, -2]))
    st_bad("st_missing_offsets.safetensors", lambda h: h["x"].pop("data_offsets"))
    st_bad("st_offsets_reversed.safetensors", lambda h: h["x"].update(data_offsets=[16, 0]))

    good_bin = os.path.join(BAD, "tmp.bin")
    torch.save(small, good_bin)
    data = open(good_bin, "rb").read()
    entries = zip_entries(good_bin)
    os.remove(good_bin)
    open(os.path.join(BAD, "bin_truncated.bin"), "wb").write(data[: len(data) // 2])
    # Only the end record survives: the central directory it points to is gone.
    open(os.path.join(BAD, "bin_cut_directory.bin"), "wb").write(data[:100] + data[-22:])
    write_zip(os.path.join(BAD, "bin_compressed.bin"), entries, deflate={n for n, _ in entries if "/data/" in n})
    write_zip(os.path.join(BAD, "bin_big_endian.bin"), entries + [(entries[0][0].split("/")[0] + "/byteorder", b"big")])
    write_zip(os.path.join(BAD, "bin_no_pickle.bin"), [e for e in entries if not e[0].endswith("data.pkl")])
    torch.save(torch.randn(3), os.path.join(BAD, "bin_not_a_dict.bin"))

    # Hand-made pickles: an unknown opcode, forbidden globals, a truncated pickle.
    torch_zip_with_pickle(os.path.join(BAD, "bin_unknown_opcode.bin"), b"\x80\x02}q\x00\xff.")
    torch_zip_with_pickle(os.path.join(BAD, "bin_forbidden_os_system.bin"),
                          b"\x80\x02}q\x00X\x01\x00\x00\x00acos\nsystem\nq\x01X\x04\x00\x00\x00trueq\x02\x85q\x03Rq\x04s.")
    torch_zip_with_pickle(os.path.join(BAD, "bin_forbidden_eval.bin"),
                          b"\x80\x02}q\x00X\x01\x00\x00\x00acbuiltins\neval\nq\x01X\x02\x00\x00\x001+q\x02\x85q\x03Rq\x04s.")
    torch_zip_with_pickle(os.path.join(BAD, "bin_newobj.bin"), b"\x80\x02ccollections\nOrderedDict\n)\x81.")

    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    torch_zip_with_pickle(os.path.join(BAD, "bin_forbidden_pickled.bin"), pickle.dumps({"a": Evil()}, protocol=2))
    buf = io.BytesIO()
    TorchLikePickler(buf, protocol=2).dump({"x": FakeTensor(FakeStorage("0", torch.FloatStorage, 4), 0, (2, 2), (2, 1))})
    torch_zip_with_pickle(os.path.join(BAD, "bin_truncated_pickle.bin"), buf.getvalue()[:-7])

    f4 = struct.pack("<4f", 1, 2, 3, 4)
    fake_torch_zip(os.path.join(BAD, "bin_missing_storage.bin"),
                   {"x": FakeTensor(FakeStorage("7", torch.FloatStorage, 4), 0, (2, 2), (2, 1))}, {"0": f4})
    fake_torch_zip(os.path.join(BAD, "bin_view_out_of_range.bin"),
                   {"x": FakeTensor(FakeStorage("0", torch.FloatStorage, 4), 2, (2, 2), (2, 1))}, {"0": f4})
    fake_torch_zip(os.path.join(BAD, "bin_storage_too_small.bin"),
                   {"x": FakeTensor(FakeStorage("0", torch.FloatStorage, 16), 0, (4, 4), (4, 1))}, {"0": f4})
    fake_torch_zip(os.path.join(BAD, "bin_expanded_view.bin"),
                   {"x": FakeTensor(FakeStorage("0", torch.FloatStorage, 4), 0, (1000, 4), (0, 1))}, {"0": f4})
    fake_torch_zip(os.path.join(BAD, "bin_rank_mismatch.bin"),
                   {"x": FakeTensor(FakeStorage("0", torch.FloatStorage, 4), 0, (2, 2), (1,))}, {"0": f4})

    # Sharded checkpoints with a missing shard and with an index naming a tensor a shard lacks.
    d = os.path.join(BAD, "sharded_missing_shard")
    os.makedirs(d)
    torch.save(s1, os.path.join(d, "pytorch_model-00001-of-00002.bin"))
    wm = {k: "pytorch_model-00001-of-00002.bin" for k in s1}
    wm["b.weight"] = "pytorch_model-00002-of-00002.bin"
    json.dump({"weight_map": wm}, open(os.path.join(d, "pytorch_model.bin.index.json"), "w"), indent=2)
    d = os.path.join(BAD, "sharded_missing_tensor")
    os.makedirs(d)
    write_safetensors(os.path.join(d, "model-00001-of-00001.safetensors"), s1)
    wm = {k: "model-00001-of-00001.safetensors" for k in list(s1) + ["c.weight"]}
    json.dump({"weight_map": wm}, open(os.path.join(d, "model.safetensors.index.json"), "w"), indent=2)

    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1, sort_keys=True)
    print("wrote fixtures to", OUT)
    write_fuzz_corpora()


def write_fuzz_corpora():
    """Seed corpora for tests/fuzz: the small good and malformed fixtures, and the raw pickles."""
    corpus = os.path.join(ROOT, "tests", "fuzz", "corpus")
    dirs = {k: os.path.join(corpus, k) for k in ("fuzz_safetensors", "fuzz_zip", "fuzz_pickle")}
    for d in dirs.values():  # only this script's corpora; other targets' corpora are left alone
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
    for folder in (OUT, BAD):
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if not os.path.isfile(path) or os.path.getsize(path) > 8192:
                continue
            if name.endswith(".safetensors"):
                shutil.copy(path, os.path.join(dirs["fuzz_safetensors"], name))
            elif name.endswith(".bin"):
                shutil.copy(path, os.path.join(dirs["fuzz_zip"], name))
                try:
                    with zipfile.ZipFile(path) as z:
                        for n in z.namelist():
                            if n.endswith("data.pkl"):
                                open(os.path.join(dirs["fuzz_pickle"], name + ".pkl"), "wb").write(z.read(n))
                except (zipfile.BadZipFile, zlib.error, OSError):
                    pass
    print("wrote fuzz corpora to", corpus)


if __name__ == "__main__":
    main()
