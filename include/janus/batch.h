// janus.cpp public API — `janus batch`: rendering jobs from a JSONL file (docs/batch.md).
//
//   janus batch -m MODEL jobs.jsonl -o OUT [--shard I/N] [--max-batch R]
//
// Input: one job per line, {"id": "cat", "prompt": "...", "n": 4, "seed": 7, "cfg": 5,
// "temperature": 1, "top_k": 0, "top_p": 1, "negative_prompt": "...", "greedy": false}; only "id"
// and "prompt" are required. A line that is not JSON, has unknown keys or bad values becomes a failed
// job naming its line number; the others run.
// Output: OUT/<id>/image-<k>.png and OUT/manifest.jsonl with one record per job, in line order.
// Image k of a job equals image k of `janus generate` with the same prompt, seed and flags.
// Crash safety: every image and every per-job record (OUT/.janus-batch/records/) is written to a
// temp file and renamed; manifest.jsonl is rebuilt from the records (atomically) at the end of every
// run. A rerun skips finished jobs, and within an unfinished job the images already on disk.
// Sharding: job on line l (1-based) belongs to shard (l − 1) mod N — disjoint and stable.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "janus/generate.h"

namespace janus {

struct BatchJob {
    int line = 0;                    // 1-based line in the JSONL file
    std::string id;                  // may be "" (or invalid / a duplicate) on a failed line
    ImageRequest request;
    std::string error;               // non-empty: the line is a failed job
    std::string key() const;         // "id-<id>", or "line-<line>" for a failed line (record file name)
};

// Parses every non-blank line (blank lines are skipped but keep the numbering). Never throws for a
// bad line; throws janus::Error when the file cannot be read.
std::vector<BatchJob> parse_jobs_file(const std::string& path);
std::vector<BatchJob> parse_jobs_text(const std::string& text, const std::string& source);

struct Shard {
    int index = 0, count = 1;
    std::string source = "none";     // "--shard", "slurm", "kubernetes", "none"
    bool owns(int line) const { return (line - 1) % count == index; }
};
// --shard "I/N" when given; else Slurm job arrays (SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN of
// SLURM_ARRAY_TASK_COUNT); else Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX of `count`, from
// --shard-count or JANUS_SHARD_COUNT); else one shard. Throws janus::Error for malformed values.
Shard detect_shard(const std::string& flag, int count = 0);

struct BatchOptions {
    ImageGenOptions gen;             // model, device, threads, dtype, memory_limit
    std::string jobs;                // JOBS.jsonl
    std::string out;                 // OUT directory
    Shard shard;
    int max_batch = 16;              // images (2 CFG rows each) per decode step, across jobs
    std::function<void(const std::string&)> log;   // one line per finished job (optional)
    // Test hook: called after every image file is in place with the count written by this run.
    std::function<void(int)> on_image_written;
};

struct BatchSummary {
    int jobs = 0;                    // lines with a job (whole file)
    int mine = 0;                    // jobs of this shard
    int skipped = 0;                 // already finished before this run
    int ok = 0, failed = 0;          // finished by this run
    int images_written = 0;
    int images_reused = 0;           // images of unfinished jobs found on disk
    double seconds = 0;
};

BatchSummary run_batch(const BatchOptions& options);

// Rebuilds OUT/manifest.jsonl from the records of the jobs in `jobs_file` (all shards); returns the
// number of records written.
int write_batch_manifest(const std::string& jobs_file, const std::string& out);

}  // namespace janus
