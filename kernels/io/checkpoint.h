// Checkpoint: open a model directory or weights file and get name -> janus::Tensor. Tensors point
// straight into the file's bytes (mmap'd or read into memory, see LoadMode); each holds a
// shared_ptr to its file, so a Tensor stays valid after the Checkpoint is gone. Views that are not
// contiguous in the file (possible in torch.save) or misaligned for their dtype are copied once.
//
// Accepted inputs:
//   - a directory holding model.safetensors[.index.json] or pytorch_model.bin[.index.json]
//     (or a single other *.safetensors / *.bin file),
//   - a .safetensors file, a torch.save .bin/.pt/.pth zip, or a sharded *.index.json
//     ({"weight_map": {tensor: shard file}}; shards are resolved next to the index).
// Mapped (mmap mode) tensors are READ-ONLY memory: copy before modifying.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/io/mapped_file.h"
#include "kernels/tensor.h"

namespace janus::io {

enum class CheckpointFormat : uint8_t { safetensors, torch_zip };
const char* checkpoint_format_name(CheckpointFormat f);  // "safetensors" | "torch-zip"

struct TensorEntry {
    std::string name;
    DType dtype = DType::f32;
    Shape shape;
    std::string file;     // path of the file holding it
    uint64_t offset = 0;  // byte offset of its first element in that file
    uint64_t nbytes = 0;  // numel * dtype size
    bool copied = false;  // true when the data had to be copied (non-contiguous view / misaligned)
    Tensor tensor;
};

class Checkpoint {
public:
    // Opens and validates every file (headers, offsets, shard lists). Throws janus::Error naming the
    // file and the problem.
    static Checkpoint open(const std::string& path, LoadMode mode = default_load_mode());
    // One in-memory file (format detected from its bytes); for tests and fuzzers.
    static Checkpoint from_memory(const void* data, size_t size, const std::string& name);

    const std::string& root() const { return root_; }            // directory of the checkpoint
    const std::string& source() const { return source_; }        // the path given to open()
    CheckpointFormat format() const { return format_; }
    LoadMode mode() const { return mode_; }
    const std::vector<std::string>& files() const { return files_; }  // weight files, in order
    uint64_t file_bytes() const { return file_bytes_; }               // sum of their sizes

    size_t size() const { return entries_.size(); }
    const std::vector<TensorEntry>& entries() const { return entries_; }  // file order
    bool contains(const std::string& name) const { return index_.count(name) != 0; }
    const TensorEntry* find(const std::string& name) const;
    // Throws janus::Error "<source>: tensor 'name' not found (N tensors; ...)" when absent.
    const Tensor& tensor(const std::string& name) const;

private:
    void add_file(const std::shared_ptr<MappedFile>& file, const std::vector<std::string>* only);
    void add_entry(TensorEntry e);

    std::string root_, source_;
    CheckpointFormat format_ = CheckpointFormat::safetensors;
    LoadMode mode_ = LoadMode::mmap;
    std::vector<std::string> files_;
    uint64_t file_bytes_ = 0;
    std::vector<TensorEntry> entries_;
    std::unordered_map<std::string, size_t> index_;
};

}  // namespace janus::io
