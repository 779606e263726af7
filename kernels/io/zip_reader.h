// Minimal ZIP reader for torch.save archives: reads the end-of-central-directory record (and its
// zip64 variant), walks the central directory and resolves each entry's local header to the offset
// of its data. Only "stored" (method 0, uncompressed) entries can be read — torch writes all entries
// stored and pads local headers so data starts 64-byte aligned — which lets tensor data be used in
// place. Compressed entries are listed but reading them is an error. No CRC check (that would touch
// every page of a multi-GB file); bounds are checked everywhere.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/io/mapped_file.h"

namespace janus::io {

struct ZipEntry {
    std::string name;
    uint64_t data_offset = 0;  // absolute offset of the entry's data in the zip file
    uint64_t size = 0;         // uncompressed size
    uint64_t compressed_size = 0;
    uint16_t method = 0;       // 0 = stored, 8 = deflate, ...
};

// Reads the central directory. Throws janus::Error "<file>: ..." for anything malformed.
std::vector<ZipEntry> read_zip_directory(const ByteView& file);

// The data of a stored entry as a sub-view of `file` (name "<file>:<entry>"). Throws for compressed
// entries or data outside the file.
ByteView zip_entry_data(const ByteView& file, const ZipEntry& e);

}  // namespace janus::io
