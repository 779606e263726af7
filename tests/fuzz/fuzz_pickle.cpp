// libFuzzer target: the restricted torch pickle reader on arbitrary bytes. It must never execute,
// crash, recurse without bound or throw anything but janus::Error; results are sanity-checked.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "janus/error.h"
#include "kernels/io/torch_pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    janus::io::ByteView v{data, size, "fuzz.pkl"};
    try {
        for (const auto& t : janus::io::parse_torch_pickle(v))
            if (t.shape.size() != t.strides.size() || t.shape.size() > 6) std::abort();
    } catch (const janus::Error&) {
    }
    return 0;
}
