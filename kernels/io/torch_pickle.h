// Restricted, NON-EXECUTING reader for the pickle inside a torch.save zip (`<archive>/data.pkl`).
// It interprets only the opcodes a state dict uses (protocols 2-5: PROTO/FRAME, dict/list/tuple
// building, strings, ints, floats, bools, None, memo PUT/GET, MARK, GLOBAL/STACK_GLOBAL, REDUCE,
// BINPERSID, BUILD on dicts/tensors, STOP) and admits only these globals:
//   collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter,
//   torch._utils._rebuild_parameter_with_state, torch.{Float,Double,Half,BFloat16,Long,Int,Short,
//   Char,Byte,Bool}Storage.
// Any other global (os.system, builtins.eval, ...) or opcode is rejected with an error naming it;
// nothing is ever imported or called. The result is a flat list of tensor records, each pointing at
// a storage ("<archive>/data/<key>") with an element offset, shape [d0, ...] and element strides.
// Nested dicts ({"state_dict": {...}}) are flattened with "." joined keys; non-tensor values
// (ints, strings, _metadata) are ignored.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/dtype.h"
#include "kernels/io/mapped_file.h"

namespace janus::io {

struct PickledTensor {
    std::string name;              // state-dict key
    DType dtype = DType::f32;      // from the storage type
    std::string storage_key;       // persistent id key -> zip entry "<archive>/data/<key>"
    uint64_t storage_numel = 0;    // elements in the storage as pickled
    int64_t storage_offset = 0;    // elements
    std::vector<int64_t> shape;    // [d0, ...]
    std::vector<int64_t> strides;  // elements, same rank as shape
};

// Parses the pickle bytes. Throws janus::Error "<view name>: pickle: ..." on anything unexpected.
std::vector<PickledTensor> parse_torch_pickle(const ByteView& pkl);

}  // namespace janus::io
