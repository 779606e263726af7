// MappedFile: the bytes of one checkpoint file, either mmap'd read-only (zero-copy, pages come from
// the page cache on first touch) or read into ordinary anonymous memory (64-byte aligned, huge pages
// advised). Either way the bytes stay valid for the object's lifetime; tensors hold a shared_ptr to
// it. ByteView is a bounds-checked window over such bytes (or over a caller's memory buffer, which
// is how the parsers are fuzzed and unit-tested).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "janus/error.h"

namespace janus::io {

// How checkpoint bytes get into memory.
//   mmap: map the file (zero-copy; the OS may drop idle pages and fault them in again later).
//   read: read the whole file into anonymous memory once (costs RAM + one sequential read; pages
//         then stay resident unless swapped). JANUS_READ_THP=1 also advises huge pages.
//   automatic: read when the files fit comfortably (<= 75% of MemAvailable), else mmap.
enum class LoadMode : uint8_t { mmap, read, automatic };
const char* load_mode_name(LoadMode m);  // "mmap" | "read" | "auto"
// "mmap" | "read" | "auto" -> mode; throws janus::Error naming the bad value otherwise.
LoadMode load_mode_from_name(const std::string& name);
// The default mode: automatic (docs/info.md has the measurements behind it). JANUS_LOAD_MODE=
// mmap|read|auto in the environment overrides it.
LoadMode default_load_mode();
// Resolves `automatic` for `total_bytes` of files against /proc/meminfo's MemAvailable.
LoadMode resolve_load_mode(LoadMode mode, uint64_t total_bytes);

// A read-only window [data, data + size) with checked accessors. `name` is used in error messages.
struct ByteView {
    const uint8_t* data = nullptr;
    uint64_t size = 0;
    std::string name;

    // True when [offset, offset + len) lies inside the view (overflow-safe).
    bool contains(uint64_t offset, uint64_t len) const {
        return offset <= size && len <= size - offset;
    }
    // Throws "<name>: <what>: bytes [offset, offset+len) are beyond the end of the file (size N)".
    void require(uint64_t offset, uint64_t len, const char* what) const;
    template <class T> T read_le(uint64_t offset, const char* what) const {
        require(offset, sizeof(T), what);
        T v;
        std::memcpy(&v, data + offset, sizeof(T));  // host is little-endian (x86-64 / aarch64)
        return v;
    }
};

class MappedFile {
public:
    // Opens `path` in the given mode. Throws janus::Error naming the path on any failure.
    static std::shared_ptr<MappedFile> open(const std::string& path, LoadMode mode);
    // Wraps a copy of an in-memory buffer (tests, fuzzers). `name` stands in for the path.
    static std::shared_ptr<MappedFile> from_memory(const void* data, size_t size, const std::string& name);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    uint64_t size() const { return size_; }
    const std::string& path() const { return path_; }
    LoadMode mode() const { return mode_; }
    ByteView view() const { return ByteView{data_, size_, path_}; }

private:
    MappedFile() = default;
    const uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
    size_t mapped_len_ = 0;  // length passed to munmap (0 when nothing is mapped)
    std::string path_;
    LoadMode mode_ = LoadMode::mmap;
};

}  // namespace janus::io
