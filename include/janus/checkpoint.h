// Public API behind `janus info`: inspect a model directory or weights file without loading the
// weights (headers only; the files are mmap'd and tensor data is never touched) and describe it:
// format and files, architecture and sub-models, dtypes, parameter counts and bytes per part,
// tensors missing/unexpected/mis-shaped for the architecture, and the memory a run needs.
#pragma once
#include <cstdint>
#include <string>

namespace janus {

struct InfoOptions {
    int64_t context = 0;  // chat context for the KV estimate; 0 = min(max_position_embeddings, 4096)
    int parallel = 16;    // Janus text-to-image: images per prompt (2 CFG rows each); reference default 16
    bool json = false;    // JSON instead of text
    int max_list = 20;    // missing/unexpected names listed before "... and N more" (0 = all)
};

// Returns the report (text or JSON). Throws janus::Error for unreadable/malformed checkpoints and
// for config.json files of unsupported architectures (the message lists the supported ones).
std::string describe_checkpoint(const std::string& path, const InfoOptions& options = {});


}  // namespace janus
