// Internal helpers shared by pipelines/batch_jobs.cpp and pipelines/batch.cpp: atomic file writes,
// record paths and reading, image paths relative to OUT, temp-file cleanup.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "janus/batch.h"

namespace janus {

void write_file_atomic(const std::string& path, const std::string& data);
std::string record_path(const std::string& out, const BatchJob& job);   // OUT/.janus-batch/records/<key>.json
std::string image_rel_path(const BatchJob& job, int k);                 // "<id>/image-<k>.png"
bool read_record(const std::string& path, nlohmann::json* out);        // false when absent or corrupt
void remove_stale_temps(const std::string& dir);                        // "*.tmp-*" left by a killed run

}  // namespace janus
