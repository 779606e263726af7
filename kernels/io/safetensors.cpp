// safetensors header parsing and validation (see safetensors.h for the layout).
#include "kernels/io/safetensors.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace janus::io {

bool safetensors_dtype(const std::string& s, DType* out) {
    static const std::pair<const char*, DType> table[] = {
        {"F32", DType::f32}, {"F16", DType::f16}, {"BF16", DType::bf16}, {"F64", DType::f64},
        {"I64", DType::i64}, {"I32", DType::i32}, {"I16", DType::i16},   {"I8", DType::i8},
        {"U8", DType::u8},   {"BOOL", DType::boolean}};
    for (auto& [name, t] : table)
        if (s == name) {
            *out = t;
            return true;
        }
    return false;
}

SafetensorsHeader parse_safetensors(const ByteView& file) {
    const std::string& fn = file.name;
    if (file.size < 8)
        throw file_error(fn, "too small to be a safetensors file (" + std::to_string(file.size) +
                                 " bytes; the 8-byte header length is missing) — the file is truncated");
    uint64_t n = file.read_le<uint64_t>(0, "safetensors header length");
    if (n > kSafetensorsMaxHeader)
        throw file_error(fn, "safetensors header length " + std::to_string(n) +
                                 " exceeds the 100 MB limit — not a safetensors file or corrupt");
    if (n > file.size - 8)
        throw file_error(fn, "safetensors header length " + std::to_string(n) + " is beyond the end of the file (" +
                                 std::to_string(file.size) + " bytes) — the file is truncated");
    if (n < 2) throw file_error(fn, "safetensors header is empty (length " + std::to_string(n) + ")");

    nlohmann::json header;
    try {
        header = nlohmann::json::parse(file.data + 8, file.data + 8 + n);
    } catch (const nlohmann::json::exception& e) {
        throw file_error(fn, std::string("safetensors header is not valid JSON: ") + e.what());
    }
    if (!header.is_object()) throw file_error(fn, "safetensors header is not a JSON object");

    SafetensorsHeader out;
    out.data_start = 8 + n;
    const uint64_t buffer_size = file.size - out.data_start;
    struct Span {
        uint64_t begin, end;
        size_t index;
    };
    std::vector<Span> spans;
    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        const auto& v = it.value();
        if (name == "__metadata__") {
            if (!v.is_object()) throw file_error(fn, "safetensors __metadata__ is not an object");
            for (auto m = v.begin(); m != v.end(); ++m)
                if (m.value().is_string()) out.metadata[m.key()] = m.value().get<std::string>();
            continue;
        }
        auto bad = [&](const std::string& why) { return file_error(fn, "tensor '" + name + "': " + why); };
        if (!v.is_object()) throw bad("header entry is not an object");
        auto dt = v.find("dtype");
        auto sh = v.find("shape");
        auto of = v.find("data_offsets");
        if (dt == v.end() || sh == v.end() || of == v.end())
            throw bad("header entry needs 'dtype', 'shape' and 'data_offsets'");
        if (!dt->is_string()) throw bad("'dtype' is not a string");
        RawTensor t;
        t.name = name;
        std::string dts = dt->get<std::string>();
        if (!safetensors_dtype(dts, &t.dtype))
            throw bad("dtype '" + dts + "' is not supported (supported: F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL)");
        if (!sh->is_array()) throw bad("'shape' is not an array");
        if (sh->size() > size_t(6)) throw bad("rank " + std::to_string(sh->size()) + " is above the supported 6");
        for (const auto& d : *sh) {
            if (!d.is_number_integer() || (d.is_number_integer() && !d.is_number_unsigned() && d.get<int64_t>() < 0))
                throw bad("'shape' entries must be non-negative integers");
            uint64_t u = d.get<uint64_t>();
            if (u > (uint64_t(1) << 62)) throw bad("shape dimension " + std::to_string(u) + " is too large");
            t.shape.push_back(int64_t(u));
        }
        if (!of->is_array() || of->size() != 2 || !(*of)[0].is_number_unsigned() || !(*of)[1].is_number_unsigned())
            throw bad("'data_offsets' must be two non-negative integers [begin, end]");
        uint64_t b = (*of)[0].get<uint64_t>(), e = (*of)[1].get<uint64_t>();
        uint64_t numel = 0;
        if (!checked_numel(t.shape, dtype_size(t.dtype), &numel)) throw bad("shape " + sh->dump() + " is too large");
        if (e < b) throw bad("data_offsets [" + std::to_string(b) + ", " + std::to_string(e) + "] end before begin");
        if (e - b != numel * dtype_size(t.dtype))
            throw bad("shape " + sh->dump() + " of " + dts + " needs " + std::to_string(numel * dtype_size(t.dtype)) +
                      " bytes but data_offsets cover " + std::to_string(e - b));
        if (e > buffer_size)
            throw bad("data_offsets [" + std::to_string(b) + ", " + std::to_string(e) +
                      "] are beyond the end of the data (" + std::to_string(buffer_size) +
                      " bytes) — the file is truncated");
        t.offset = out.data_start + b;
        t.span_bytes = e - b;
        spans.push_back({b, e, out.tensors.size()});
        out.tensors.push_back(std::move(t));
    }
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    // Sorted by begin, a span overlaps an earlier one iff it starts before the furthest end so far
    // (empty tensors occupy no bytes and never overlap).
    size_t far = 0;
    bool have = false;
    for (size_t i = 0; i < spans.size(); i++) {
        const Span& c = spans[i];
        if (c.end == c.begin) continue;
        if (have && c.begin < spans[far].end)
            throw file_error(fn, "tensors '" + out.tensors[spans[far].index].name + "' and '" +
                                     out.tensors[c.index].name + "' overlap (data_offsets [" +
                                     std::to_string(spans[far].begin) + ", " + std::to_string(spans[far].end) +
                                     ") and [" + std::to_string(c.begin) + ", " + std::to_string(c.end) +
                                     ")) — the file is corrupt");
        if (!have || c.end > spans[far].end) far = i;
        have = true;
    }
    std::vector<RawTensor> ordered;
    ordered.reserve(spans.size());
    for (const Span& s : spans) ordered.push_back(std::move(out.tensors[s.index]));
    out.tensors = std::move(ordered);
    return out;
}

}  // namespace janus::io
