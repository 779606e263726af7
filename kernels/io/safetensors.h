// safetensors reader. File layout (huggingface/safetensors format spec):
//   [u64 little-endian N][N bytes of UTF-8 JSON header][byte buffer]
// The header maps tensor name -> {"dtype": "BF16", "shape": [d0, ...], "data_offsets": [b, e]} with
// offsets relative to the start of the byte buffer, plus an optional "__metadata__" string map.
// Every tensor is validated: known dtype, e - b == numel * dtype size, inside the buffer, and no two
// tensors overlap. Works on any ByteView, so it can be fuzzed from memory.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "kernels/io/mapped_file.h"
#include "kernels/io/raw_tensor.h"

namespace janus::io {

// Largest header accepted (the reference implementation's limit is 100 MB).
constexpr uint64_t kSafetensorsMaxHeader = 100ull << 20;

struct SafetensorsHeader {
    std::vector<RawTensor> tensors;               // in file order of their data; offsets absolute
    std::map<std::string, std::string> metadata;  // "__metadata__" (e.g. {"format": "pt"})
    uint64_t data_start = 0;                      // 8 + N
};

// Parses and validates the header of a safetensors file. Throws janus::Error "<file>: ..." on any
// problem (truncation, bad JSON, unknown dtype, size mismatch, out-of-range or overlapping data).
SafetensorsHeader parse_safetensors(const ByteView& file);

// "F32" -> DType::f32 etc.; false for dtypes janus does not read (F8_*, U16, U32, U64, ...).
bool safetensors_dtype(const std::string& s, DType* out);

}  // namespace janus::io
