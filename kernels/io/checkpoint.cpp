// Checkpoint: file discovery, shard index resolution, RawTensor -> Tensor views (see checkpoint.h).
#include "kernels/io/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "kernels/io/safetensors.h"
#include "kernels/io/torch_zip.h"

namespace fs = std::filesystem;

namespace janus::io {

const char* checkpoint_format_name(CheckpointFormat f) {
    return f == CheckpointFormat::safetensors ? "safetensors" : "torch-zip";
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Copies a strided view into contiguous memory (element-size memcpy per element; only used for the
// rare non-contiguous torch views).
Tensor gather_strided(const uint8_t* base, const RawTensor& t) {
    Tensor out = Tensor::empty(t.dtype, Shape(t.shape));
    const size_t es = dtype_size(t.dtype);
    const int nd = int(t.shape.size());
    const int64_t n = t.numel();
    std::vector<int64_t> idx(size_t(nd), 0);
    uint8_t* dst = static_cast<uint8_t*>(out.data());
    for (int64_t i = 0; i < n; i++) {
        int64_t off = 0;
        for (int k = 0; k < nd; k++) off += idx[size_t(k)] * t.strides[size_t(k)];
        std::memcpy(dst + size_t(i) * es, base + size_t(off) * es, es);
        for (int k = nd - 1; k >= 0; k--) {
            if (++idx[size_t(k)] < t.shape[size_t(k)]) break;
            idx[size_t(k)] = 0;
        }
    }
    return out;
}

nlohmann::json read_json_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw file_error(path, "cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return nlohmann::json::parse(ss.str());
    } catch (const nlohmann::json::exception& e) {
        throw file_error(path, std::string("not valid JSON: ") + e.what());
    }
}

}  // namespace

void Checkpoint::add_entry(TensorEntry e) {
    if (index_.count(e.name))
        throw file_error(e.file, "tensor '" + e.name + "' also appears in " + entries_[index_[e.name]].file +
                                     " — duplicate tensor names across shards");
    index_[e.name] = entries_.size();
    entries_.push_back(std::move(e));
}

void Checkpoint::add_file(const std::shared_ptr<MappedFile>& file, const std::vector<std::string>* only) {
    ByteView v = file->view();
    std::vector<RawTensor> raws;
    CheckpointFormat fmt;
    if (looks_like_zip(v)) {
        fmt = CheckpointFormat::torch_zip;
        raws = parse_torch_zip(v).tensors;
    } else {
        fmt = CheckpointFormat::safetensors;
        raws = parse_safetensors(v).tensors;
    }
    if (files_.empty()) format_ = fmt;
    else if (fmt != format_)
        throw file_error(file->path(), std::string("is ") + checkpoint_format_name(fmt) + " but earlier shards are " +
                                           checkpoint_format_name(format_));
    files_.push_back(file->path());
    file_bytes_ += file->size();

    if (only) {  // every tensor the index assigns to this shard must be in it
        std::set<std::string> have;
        for (const RawTensor& r : raws) have.insert(r.name);
        for (const std::string& n : *only)
            if (!have.count(n))
                throw file_error(file->path(), "tensor '" + n + "' is listed in the index for this shard but is "
                                                   "not in the file — the shard is incomplete or the index is stale");
    }
    std::shared_ptr<void> owner = file;
    for (RawTensor& r : raws) {
        if (r.shape.size() > size_t(kMaxDims))
            throw file_error(file->path(), "tensor '" + r.name + "' has rank " + std::to_string(r.shape.size()) +
                                               ", above the supported " + std::to_string(kMaxDims));
        TensorEntry e;
        e.name = r.name;
        e.dtype = r.dtype;
        e.shape = Shape(r.shape);
        e.file = file->path();
        e.offset = r.offset;
        e.nbytes = r.nbytes();
        const uint8_t* p = file->data() + r.offset;
        const size_t es = dtype_size(r.dtype);
        if (!r.contiguous()) {
            e.tensor = gather_strided(p, r);
            e.copied = true;
        } else if (es > 1 && reinterpret_cast<uintptr_t>(p) % es != 0) {
            e.tensor = Tensor::empty(r.dtype, e.shape);
            if (e.nbytes) std::memcpy(e.tensor.data(), p, size_t(e.nbytes));
            e.copied = true;
        } else {
            // Aliasing shared_ptr: keeps the whole file alive, points at this tensor's bytes.
            std::shared_ptr<void> alias(owner, const_cast<uint8_t*>(p));
            e.tensor = Tensor(const_cast<uint8_t*>(p), r.dtype, e.shape, Device{}, std::move(alias));
        }
        add_entry(std::move(e));
    }
}

Checkpoint Checkpoint::open(const std::string& path, LoadMode mode) {
    Checkpoint ck;
    ck.source_ = path;
    ck.mode_ = mode;
    std::error_code ec;
    fs::path p(path);
    if (!fs::exists(p, ec)) throw file_error(path, "no such file or directory");
    fs::path file;
    if (fs::is_directory(p, ec)) {
        ck.root_ = p.string();
        for (const char* cand : {"model.safetensors.index.json", "model.safetensors", "pytorch_model.bin.index.json",
                                 "pytorch_model.bin"})
            if (fs::exists(p / cand, ec)) {
                file = p / cand;
                break;
            }
        if (file.empty()) {  // a single other weights file?
            std::vector<fs::path> found;
            for (const auto& de : fs::directory_iterator(p, ec)) {
                std::string n = de.path().filename().string();
                if (de.is_regular_file() && (ends_with(n, ".safetensors") || ends_with(n, ".safetensors.index.json") ||
                                             ends_with(n, ".bin.index.json") || ends_with(n, ".bin") ||
                                             ends_with(n, ".pt") || ends_with(n, ".pth")))
                    found.push_back(de.path());
            }
            std::sort(found.begin(), found.end());
            if (found.size() != 1)
                throw file_error(path, found.empty()
                                           ? "no weights found (looked for model.safetensors[.index.json], "
                                             "pytorch_model.bin[.index.json], *.safetensors, *.bin, *.pt)"
                                           : "several weight files and no index JSON; pass one file or the "
                                             "*.index.json that lists the shards");
            file = found[0];
        }
    } else {
        file = p;
        ck.root_ = p.has_parent_path() ? p.parent_path().string() : std::string(".");
    }

    const std::string fname = file.string();
    if (ends_with(fname, ".index.json")) {
        nlohmann::json idx = read_json_file(fname);
        auto wm = idx.find("weight_map");
        if (!idx.is_object() || wm == idx.end() || !wm->is_object())
            throw file_error(fname, "has no \"weight_map\" object — not a sharded checkpoint index");
        std::vector<std::string> shard_order;
        std::map<std::string, std::vector<std::string>> by_shard;
        for (auto it = wm->begin(); it != wm->end(); ++it) {
            if (!it.value().is_string()) throw file_error(fname, "weight_map entry '" + it.key() + "' is not a string");
            std::string shard = it.value().get<std::string>();
            if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
                throw file_error(fname, "weight_map shard name '" + shard + "' must be a plain file name");
            if (!by_shard.count(shard)) shard_order.push_back(shard);
            by_shard[shard].push_back(it.key());
        }
        std::sort(shard_order.begin(), shard_order.end());
        fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
        for (const std::string& s : shard_order)
            if (!fs::exists(dir / s, ec))
                throw file_error(fname, "shard '" + s + "' (holding " + std::to_string(by_shard[s].size()) +
                                            " tensors, e.g. '" + by_shard[s][0] + "') is missing from " +
                                            dir.string() + " — download it");
        uint64_t total = 0;
        for (const std::string& s : shard_order) total += uint64_t(fs::file_size(dir / s, ec));
        ck.mode_ = resolve_load_mode(mode, total);
        for (const std::string& s : shard_order)
            ck.add_file(MappedFile::open((dir / s).string(), ck.mode_), &by_shard[s]);
    } else {
        ck.mode_ = resolve_load_mode(mode, uint64_t(fs::file_size(file, ec)));
        ck.add_file(MappedFile::open(fname, ck.mode_), nullptr);
    }
    return ck;
}

Checkpoint Checkpoint::from_memory(const void* data, size_t size, const std::string& name) {
    Checkpoint ck;
    ck.source_ = name;
    ck.root_ = ".";
    ck.mode_ = LoadMode::read;
    ck.add_file(MappedFile::from_memory(data, size, name), nullptr);
    return ck;
}

const TensorEntry* Checkpoint::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second];
}

const Tensor& Checkpoint::tensor(const std::string& name) const {
    const TensorEntry* e = find(name);
    if (!e)
        throw file_error(source_, "tensor '" + name + "' not found (the checkpoint has " +
                                      std::to_string(entries_.size()) +
                                      " tensors; run 'janus info -m " + source_ + "' to list missing ones)");
    return e->tensor;
}

}  // namespace janus::io
