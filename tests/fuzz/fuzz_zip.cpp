// libFuzzer target: the zip central-directory reader and the full torch.save archive path (zip +
// restricted pickle + storage bounds + Checkpoint views/copies) on arbitrary bytes. Parsed entries and tensors are touched at
// both ends so ASan catches any out-of-range offset; only janus::Error may escape the parsers.
#include <cstddef>
#include <cstdint>

#include "janus/error.h"
#include "kernels/io/checkpoint.h"
#include "kernels/io/torch_zip.h"
#include "kernels/io/zip_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    janus::io::ByteView v{data, size, "fuzz.bin"};
    uint8_t acc = 0;
    try {
        for (const auto& e : janus::io::read_zip_directory(v)) {
            try {
                janus::io::ByteView d = janus::io::zip_entry_data(v, e);
                if (d.size) acc ^= d.data[0] ^ d.data[d.size - 1];
            } catch (const janus::Error&) {
            }
        }
    } catch (const janus::Error&) {
    }
    try {
        for (const auto& t : janus::io::parse_torch_zip(v).tensors)
            if (t.span_bytes) acc ^= data[t.offset] ^ data[t.offset + t.span_bytes - 1];
    } catch (const janus::Error&) {
    }
    try {  // the whole path, including strided gathers into contiguous copies
        auto ck = janus::io::Checkpoint::from_memory(data, size, "fuzz.bin");
        for (const auto& e : ck.entries())
            if (e.nbytes) acc ^= static_cast<const uint8_t*>(e.tensor.data())[e.nbytes - 1];
    } catch (const janus::Error&) {
    }
    volatile uint8_t sink = acc;  // keep the reads
    (void)sink;
    return 0;
}
