// libFuzzer target: the safetensors header parser on arbitrary bytes. Any input must either parse
// (and then every tensor's byte range lies inside the buffer — touched here so ASan would catch an
// overread) or throw janus::Error. Anything else (crash, other exception, sanitizer report) fails.
#include <cstddef>
#include <cstdint>

#include "janus/error.h"
#include "kernels/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    janus::io::ByteView v{data, size, "fuzz.safetensors"};
    try {
        janus::io::SafetensorsHeader h = janus::io::parse_safetensors(v);
        uint8_t acc = 0;
        for (const auto& t : h.tensors) {
            if (t.span_bytes == 0) continue;
            acc ^= data[t.offset];
            acc ^= data[t.offset + t.span_bytes - 1];
        }
        volatile uint8_t sink = acc;  // keep the reads
        (void)sink;
    } catch (const janus::Error&) {
    }
    return 0;
}
