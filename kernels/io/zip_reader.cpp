// ZIP central-directory walk (PKWARE APPNOTE 6.3: EOCD, zip64 EOCD locator/record, central
// directory file headers, zip64 extended information extra field 0x0001, local file headers).
#include "kernels/io/zip_reader.h"

#include <algorithm>

namespace janus::io {

namespace {
constexpr uint32_t kEocdSig = 0x06054b50, kZip64LocSig = 0x07064b50, kZip64EocdSig = 0x06064b50;
constexpr uint32_t kCentralSig = 0x02014b50, kLocalSig = 0x04034b50;
}  // namespace

std::vector<ZipEntry> read_zip_directory(const ByteView& f) {
    const std::string& fn = f.name;
    if (f.size < 22)
        throw file_error(fn, "too small to be a zip archive (" + std::to_string(f.size) +
                                 " bytes) — the file is truncated or not a torch.save checkpoint");
    // The EOCD record is the last 22 bytes plus a comment of up to 65535 bytes.
    uint64_t lowest = f.size > 22 + 65535 ? f.size - 22 - 65535 : 0;
    uint64_t eocd = UINT64_MAX;
    for (uint64_t p = f.size - 22 + 1; p-- > lowest;) {
        if (f.read_le<uint32_t>(p, "zip end record") == kEocdSig &&
            p + 22 + f.read_le<uint16_t>(p + 20, "zip comment length") <= f.size) {
            eocd = p;
            break;
        }
    }
    if (eocd == UINT64_MAX)
        throw file_error(fn, "no zip end-of-central-directory record found — the file is truncated or is not "
                             "a torch.save zip (old non-zip torch files are not supported; re-save with torch >= 1.6)");
    uint64_t count = f.read_le<uint16_t>(eocd + 10, "zip entry count");
    uint64_t cd_size = f.read_le<uint32_t>(eocd + 12, "zip directory size");
    uint64_t cd_offset = f.read_le<uint32_t>(eocd + 16, "zip directory offset");
    if (f.read_le<uint16_t>(eocd + 4, "zip disk number") != 0 || f.read_le<uint16_t>(eocd + 6, "zip disk") != 0)
        throw file_error(fn, "multi-disk (split) zip archives are not supported");
    if (count == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {
        if (eocd < 20) throw file_error(fn, "zip64 archive without a zip64 locator — the file is corrupt");
        uint64_t loc = eocd - 20;
        if (f.read_le<uint32_t>(loc, "zip64 locator") != kZip64LocSig)
            throw file_error(fn, "zip64 archive without a zip64 locator — the file is corrupt");
        uint64_t rec = f.read_le<uint64_t>(loc + 8, "zip64 record offset");
        if (f.read_le<uint32_t>(rec, "zip64 end record") != kZip64EocdSig)
            throw file_error(fn, "zip64 end-of-central-directory record not found at offset " + std::to_string(rec));
        count = f.read_le<uint64_t>(rec + 32, "zip64 entry count");
        cd_size = f.read_le<uint64_t>(rec + 40, "zip64 directory size");
        cd_offset = f.read_le<uint64_t>(rec + 48, "zip64 directory offset");
    }
    if (!f.contains(cd_offset, cd_size))
        throw file_error(fn, "zip central directory [" + std::to_string(cd_offset) + ", +" + std::to_string(cd_size) +
                                 ") is beyond the end of the file (" + std::to_string(f.size) +
                                 " bytes) — the file is truncated");
    if (count > cd_size / 46)
        throw file_error(fn, "zip central directory claims " + std::to_string(count) + " entries in " +
                                 std::to_string(cd_size) + " bytes — the file is corrupt");

    std::vector<ZipEntry> out;
    out.reserve(size_t(count));
    uint64_t p = cd_offset;
    const uint64_t cd_end = cd_offset + cd_size;
    for (uint64_t i = 0; i < count; i++) {
        if (p + 46 > cd_end || f.read_le<uint32_t>(p, "zip directory entry") != kCentralSig)
            throw file_error(fn, "zip central directory entry " + std::to_string(i) + " at offset " +
                                     std::to_string(p) + " is malformed — the file is corrupt");
        ZipEntry e;
        e.method = f.read_le<uint16_t>(p + 10, "zip entry");
        uint64_t csize = f.read_le<uint32_t>(p + 20, "zip entry");
        uint64_t usize = f.read_le<uint32_t>(p + 24, "zip entry");
        uint16_t name_len = f.read_le<uint16_t>(p + 28, "zip entry");
        uint16_t extra_len = f.read_le<uint16_t>(p + 30, "zip entry");
        uint16_t comment_len = f.read_le<uint16_t>(p + 32, "zip entry");
        uint64_t local = f.read_le<uint32_t>(p + 42, "zip entry");
        uint64_t next = p + 46 + uint64_t(name_len) + extra_len + comment_len;
        if (next > cd_end)
            throw file_error(fn, "zip central directory entry " + std::to_string(i) + " runs past the directory");
        e.name.assign(reinterpret_cast<const char*>(f.data + p + 46), name_len);
        // zip64 extended information: the 0xffffffff fields, in the order usize, csize, offset.
        uint64_t x = p + 46 + name_len, x_end = x + extra_len;
        while (x + 4 <= x_end) {
            uint16_t id = f.read_le<uint16_t>(x, "zip extra field");
            uint16_t len = f.read_le<uint16_t>(x + 2, "zip extra field");
            if (x + 4 + len > x_end) break;
            if (id == 0x0001) {
                uint64_t q = x + 4, q_end = q + len;
                auto take = [&](uint64_t& field) {
                    if (field != 0xffffffff) return;
                    if (q + 8 > q_end) throw file_error(fn, "zip64 extra field of '" + e.name + "' is too short");
                    field = f.read_le<uint64_t>(q, "zip64 extra field");
                    q += 8;
                };
                take(usize);
                take(csize);
                take(local);
            }
            x += 4 + uint64_t(len);
        }
        e.size = usize;
        e.compressed_size = csize;
        if (f.read_le<uint32_t>(local, ("zip local header of '" + e.name + "'").c_str()) != kLocalSig)
            throw file_error(fn, "zip local header of '" + e.name + "' not found at offset " + std::to_string(local) +
                                     " — the file is corrupt");
        uint64_t lname = f.read_le<uint16_t>(local + 26, "zip local header");
        uint64_t lextra = f.read_le<uint16_t>(local + 28, "zip local header");
        e.data_offset = local + 30 + lname + lextra;
        if (!f.contains(e.data_offset, csize))
            throw file_error(fn, "zip entry '" + e.name + "' data [" + std::to_string(e.data_offset) + ", +" +
                                     std::to_string(csize) + ") is beyond the end of the file (" +
                                     std::to_string(f.size) + " bytes) — the file is truncated");
        out.push_back(std::move(e));
        p = next;
    }
    return out;
}

ByteView zip_entry_data(const ByteView& f, const ZipEntry& e) {
    if (e.method != 0)
        throw file_error(f.name, "zip entry '" + e.name + "' is compressed (method " + std::to_string(e.method) +
                                     "); only stored entries are supported — re-save with torch.save");
    if (e.size != e.compressed_size)
        throw file_error(f.name, "zip entry '" + e.name + "' is stored but its sizes differ — the file is corrupt");
    if (!f.contains(e.data_offset, e.size))
        throw file_error(f.name, "zip entry '" + e.name + "' is beyond the end of the file — the file is truncated");
    return ByteView{f.data + e.data_offset, e.size, f.name + ":" + e.name};
}

}  // namespace janus::io
