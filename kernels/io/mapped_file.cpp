// MappedFile: mmap or read a whole checkpoint file into memory; ByteView bounds checks.
#include "kernels/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace janus::io {

const char* load_mode_name(LoadMode m) {
    return m == LoadMode::mmap ? "mmap" : m == LoadMode::read ? "read" : "auto";
}

LoadMode load_mode_from_name(const std::string& name) {
    if (name == "mmap") return LoadMode::mmap;
    if (name == "read") return LoadMode::read;
    if (name == "auto") return LoadMode::automatic;
    throw Error("load mode '" + name + "' is not known; use 'mmap', 'read' or 'auto'");
}

LoadMode default_load_mode() {
    if (const char* e = std::getenv("JANUS_LOAD_MODE"); e && *e) return load_mode_from_name(e);
    // docs/info.md: on these VMs (no swap) anonymous pages are never reclaimed while idle file
    // pages are, which is what made decoding from mmap'd weights slower; `read` costs a slower
    // load (~0.7 vs ~2 GB/s first touch) and RAM for the whole file, so it is used when it fits.
    return LoadMode::automatic;
}

LoadMode resolve_load_mode(LoadMode mode, uint64_t total_bytes) {
    if (mode != LoadMode::automatic) return mode;
    uint64_t avail_kib = 0;
    if (FILE* f = std::fopen("/proc/meminfo", "r")) {
        char key[64];
        unsigned long long v = 0;
        while (std::fscanf(f, "%63s %llu kB\n", key, &v) == 2)
            if (std::strcmp(key, "MemAvailable:") == 0) {
                avail_kib = v;
                break;
            }
        std::fclose(f);
    }
    if (avail_kib == 0) return LoadMode::mmap;
    return total_bytes / 1024 <= avail_kib / 4 * 3 ? LoadMode::read : LoadMode::mmap;
}

void ByteView::require(uint64_t offset, uint64_t len, const char* what) const {
    if (!contains(offset, len))
        throw file_error(name, std::string(what) + ": bytes [" + std::to_string(offset) + ", " +
                                   std::to_string(offset) + "+" + std::to_string(len) +
                                   ") are beyond the end of the file (size " + std::to_string(size) +
                                   "); the file is truncated or corrupt — download it again");
}

namespace {
std::string errno_text() { return std::string(std::strerror(errno)); }

// Anonymous, page-aligned, zero-filled memory of at least `len` bytes (so 64-byte aligned too).
uint8_t* anon_alloc(size_t len, const std::string& path) {
    void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        throw file_error(path, "cannot allocate " + std::to_string(len) + " bytes to read the file into (" +
                                   errno_text() + "); try JANUS_LOAD_MODE=mmap or free some memory");
#ifdef MADV_HUGEPAGE
    // Opt-in: fewer TLB misses, but with THP defrag=madvise the page faults compact memory
    // synchronously, which made loading 3-4x slower here (docs/info.md).
    const char* thp = std::getenv("JANUS_READ_THP");
    if (len >= (size_t(2) << 20) && thp && thp[0] == '1') ::madvise(p, len, MADV_HUGEPAGE);
#endif
    return static_cast<uint8_t*>(p);
}
}  // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path, LoadMode mode) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw file_error(path, "cannot open (" + errno_text() + ")");
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw file_error(path, "not a regular file");
    }
    std::shared_ptr<MappedFile> f(new MappedFile());
    f->path_ = path;
    f->size_ = uint64_t(st.st_size);
    mode = resolve_load_mode(mode, f->size_);
    f->mode_ = mode;
    size_t len = f->size_ ? size_t(f->size_) : 1;
    if (mode == LoadMode::mmap) {
        if (f->size_ == 0) {  // mmap of length 0 is invalid; use a dummy page
            f->data_ = anon_alloc(1, path);
        } else {
            void* p = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED) {
                ::close(fd);
                throw file_error(path, "mmap failed (" + errno_text() + "); try JANUS_LOAD_MODE=read");
            }
            f->data_ = static_cast<const uint8_t*>(p);
        }
        f->mapped_len_ = len;
    } else {
        uint8_t* buf = anon_alloc(len, path);
        f->data_ = buf;
        f->mapped_len_ = len;
#ifdef POSIX_FADV_SEQUENTIAL
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
        uint64_t done = 0;
        while (done < f->size_) {
            size_t chunk = size_t(std::min<uint64_t>(f->size_ - done, uint64_t(64) << 20));
            ssize_t n = ::pread(fd, buf + done, chunk, off_t(done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                ::close(fd);
                throw file_error(path, "read failed at byte " + std::to_string(done) + " (" +
                                           (n == 0 ? std::string("unexpected end of file") : errno_text()) + ")");
            }
            done += uint64_t(n);
        }
    }
    ::close(fd);
    return f;
}

std::shared_ptr<MappedFile> MappedFile::from_memory(const void* data, size_t size, const std::string& name) {
    std::shared_ptr<MappedFile> f(new MappedFile());
    f->path_ = name;
    f->mode_ = LoadMode::read;
    f->size_ = size;
    f->mapped_len_ = size ? size : 1;
    uint8_t* buf = anon_alloc(f->mapped_len_, name);
    if (size) std::memcpy(buf, data, size);
    f->data_ = buf;
    return f;
}

MappedFile::~MappedFile() {
    if (mapped_len_) ::munmap(const_cast<uint8_t*>(data_), mapped_len_);
}

}  // namespace janus::io
