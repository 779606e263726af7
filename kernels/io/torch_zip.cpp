// torch.save zip archive -> RawTensor list (see torch_zip.h).
#include "kernels/io/torch_zip.h"

#include <unordered_map>

#include "kernels/io/torch_pickle.h"
#include "kernels/io/zip_reader.h"

namespace janus::io {

bool looks_like_zip(const ByteView& f) {
    return f.size >= 4 && f.data[0] == 'P' && f.data[1] == 'K' && f.data[2] == 3 && f.data[3] == 4;
}

TorchZipContents parse_torch_zip(const ByteView& f) {
    const std::string& fn = f.name;
    std::vector<ZipEntry> entries = read_zip_directory(f);
    TorchZipContents out;
    const ZipEntry* pkl = nullptr;
    for (const ZipEntry& e : entries) {
        size_t slash = e.name.find('/');
        if (slash != std::string::npos && e.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
            if (pkl) throw file_error(fn, "more than one data.pkl in the archive — not a torch.save file");
            pkl = &e;
            out.archive = e.name.substr(0, slash);
        }
    }
    if (!pkl)
        throw file_error(fn, "no '<archive>/data.pkl' entry — this zip is not a torch.save checkpoint");
    std::unordered_map<std::string, const ZipEntry*> by_name;
    for (const ZipEntry& e : entries) by_name[e.name] = &e;

    if (auto it = by_name.find(out.archive + "/byteorder"); it != by_name.end()) {
        ByteView b = zip_entry_data(f, *it->second);
        std::string order(reinterpret_cast<const char*>(b.data), size_t(b.size));
        if (order != "little")
            throw file_error(fn, "byteorder record says '" + order.substr(0, 16) +
                                     "'; only little-endian checkpoints are supported");
    }

    std::vector<PickledTensor> pickled = parse_torch_pickle(zip_entry_data(f, *pkl));
    out.tensors.reserve(pickled.size());
    for (PickledTensor& p : pickled) {
        auto bad = [&](const std::string& why) { return file_error(fn, "tensor '" + p.name + "': " + why); };
        const std::string entry = out.archive + "/data/" + p.storage_key;
        auto it = by_name.find(entry);
        if (it == by_name.end()) throw bad("its storage entry '" + entry + "' is missing from the archive");
        ByteView storage = zip_entry_data(f, *it->second);
        const uint64_t esize = dtype_size(p.dtype);
        uint64_t storage_elems = storage.size / esize;
        if (p.storage_numel > storage_elems)
            throw bad("storage '" + p.storage_key + "' should hold " + std::to_string(p.storage_numel) +
                      " elements but its entry has only " + std::to_string(storage.size) + " bytes");
        RawTensor t;
        t.name = p.name;
        t.dtype = p.dtype;
        t.shape = p.shape;
        uint64_t numel = 0;
        if (!checked_numel(t.shape, esize, &numel)) throw bad("shape is negative or too large");
        if (p.storage_offset < 0 || uint64_t(p.storage_offset) > storage_elems)
            throw bad("storage offset " + std::to_string(p.storage_offset) + " is outside storage '" +
                      p.storage_key + "' (" + std::to_string(storage_elems) + " elements)");
        // Highest element index addressed: offset + sum (d - 1) * stride.
        uint64_t last = uint64_t(p.storage_offset);
        bool overflow = false;
        for (size_t k = 0; k < t.shape.size(); k++) {
            if (p.strides[k] < 0) throw bad("negative stride");
            if (t.shape[k] == 0) continue;
            uint64_t step = 0;
            overflow |= __builtin_mul_overflow(uint64_t(t.shape[k] - 1), uint64_t(p.strides[k]), &step);
            overflow |= __builtin_add_overflow(last, step, &last);
        }
        if (overflow) throw bad("strides are too large");
        if (numel > 0 && last >= storage_elems)
            throw bad("view (offset " + std::to_string(p.storage_offset) + ", shape " + std::to_string(t.shape.size()) +
                      "-d) reaches element " + std::to_string(last) + " of storage '" + p.storage_key +
                      "' which has only " + std::to_string(storage_elems) + " elements");
        t.strides = p.strides;
        if (t.contiguous()) t.strides.clear();
        else if (numel > storage_elems)  // only possible with overlapping (e.g. stride-0 expanded) views
            throw bad("non-contiguous view of " + std::to_string(numel) + " elements is larger than its storage (" +
                      std::to_string(storage_elems) + " elements); save a contiguous copy (tensor.contiguous())");
        t.offset = it->second->data_offset + uint64_t(p.storage_offset) * esize;
        t.span_bytes = numel ? (last - uint64_t(p.storage_offset) + 1) * esize : 0;
        out.tensors.push_back(std::move(t));
    }
    return out;
}

}  // namespace janus::io
