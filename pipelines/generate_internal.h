// Internal pieces shared by the text-to-image files of pipelines/: the memory-plan arithmetic
// (generate_plan.cpp) used by ImageGenerator::plan (generate.cpp), plan_synthetic and the bench.
//
// Sizes: KV per token per row = layers · 2 · kv_heads · head_dim · sizeof(kv dtype); LM step workspace
// (f32) for T stacked tokens ≈ T · 4 · (3·H + 2·q_dim + 2·kv_dim + 2·F); VQ decoder = three buffers of
// its largest activation [ch, S, S] f32 + attention [G², C] buffers and scores [G², G²].
#pragma once
#include <cstdint>
#include <string>

#include "janus/generate.h"
#include "text/lm_config.h"
#include "vision/vision_config.h"

namespace janus {

struct PlanInputs {
    std::string model;
    LmConfig lm;
    vision::VqConfig vq;
    int64_t weight_bytes = 0;       // everything generation reads
    int64_t kv_dtype_bytes = 2;
    int64_t codebook = 16384;       // gen_head output width
    int images = 1;
    int64_t prompt_tokens = 0;      // longest row
    int64_t image_tokens = 0;       // steps per image
    int max_images = 0;             // cap on images per step (0 = none)
    int64_t limit_bytes = 0;        // 0 = detect from the machine
};

// Fills every MemoryPlan field; images_per_step = the most images whose KV fits the limit (at least
// 1: when not even one image fits, the plan says so and the caller reports it).
MemoryPlan make_memory_plan(const PlanInputs& in);
// Bytes this process may use: min(0.92 · physical memory, available memory + weight bytes) — the
// mmap'd weights show up as reclaimable page cache once read (docs/generate.md).
int64_t detect_memory_limit(int64_t weight_bytes);

}  // namespace janus
