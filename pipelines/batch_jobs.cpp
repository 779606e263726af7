// `janus batch` bookkeeping (include/janus/batch.h): JSONL job parsing with per-line errors, shard
// detection (--shard, Slurm job arrays, Kubernetes Indexed Jobs), per-job record files and the
// manifest rebuilt from them. The rendering loop itself is pipelines/batch.cpp.
//
// Files under OUT: <id>/image-<k>.png, .janus-batch/records/<key>.json (one JSON object per finished
// job, written by temp + rename), manifest.jsonl (one record per job of the JSONL that has a record,
// in line order; rebuilt by temp + rename).
#include <cstdlib>
#include <cstdio>
#include <map>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unistd.h>

#include "janus/batch.h"
#include "pipelines/batch_internal.h"

namespace janus {

namespace fs = std::filesystem;
using nlohmann::json;

// Failed lines are keyed by line number (their id may be missing, invalid or a duplicate).
std::string BatchJob::key() const { return error.empty() ? "id-" + id : "line-" + std::to_string(line); }

namespace {

const std::set<std::string> kKeys = {"id", "prompt", "negative_prompt", "n", "seed", "cfg",
                                     "temperature", "top_k", "top_p", "greedy"};

bool valid_id(const std::string& id) {
    if (id.empty() || id.size() > 128 || id[0] == '.') return false;
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
    return true;
}

void parse_job(const json& j, BatchJob& job) {
    if (!j.is_object()) throw Error("a job must be a JSON object");
    if (j.contains("id") && j["id"].is_string()) job.id = j["id"].get<std::string>();  // named in the error record
    std::string unknown;
    for (auto it = j.begin(); it != j.end(); ++it)
        if (!kKeys.count(it.key())) unknown += (unknown.empty() ? "" : ", ") + it.key();
    if (!unknown.empty())
        throw Error("unknown key(s): " + unknown +
                    " (allowed: id, prompt, negative_prompt, n, seed, cfg, temperature, top_k, top_p, greedy)");
    if (!j.contains("id") || !j["id"].is_string()) throw Error("\"id\" (a string) is required");
    std::string id = j["id"].get<std::string>();
    if (!valid_id(id)) throw Error("id \"" + id + "\" must be 1-128 characters of A-Z a-z 0-9 . _ - and not start with '.'");
    job.id = id;
    if (!j.contains("prompt") || !j["prompt"].is_string()) throw Error("\"prompt\" (a string) is required");
    ImageRequest& r = job.request;
    r.prompt = j["prompt"].get<std::string>();
    auto num = [&](const char* k, float* out) {
        if (!j.contains(k)) return;
        if (!j[k].is_number()) throw Error(std::string("\"") + k + "\" must be a number");
        *out = j[k].get<float>();
    };
    auto integer = [&](const char* k, int64_t lo, int64_t hi, int64_t* out) {
        if (!j.contains(k)) return false;
        if (!j[k].is_number_integer() && !j[k].is_number_unsigned())
            throw Error(std::string("\"") + k + "\" must be an integer");
        if (j[k].is_number_unsigned()) {
            uint64_t u = j[k].get<uint64_t>();
            if (hi >= 0 && u > uint64_t(hi)) throw Error(std::string("\"") + k + "\" is out of range");
            *out = int64_t(u);
        } else {
            *out = j[k].get<int64_t>();
        }
        if (*out < lo || (hi >= 0 && *out > hi)) throw Error(std::string("\"") + k + "\" is out of range");
        return true;
    };
    int64_t v = 0;
    if (integer("n", 1, 4096, &v)) r.n = int(v);
    if (j.contains("seed")) {
        if (!j["seed"].is_number_unsigned() && !(j["seed"].is_number_integer() && j["seed"].get<int64_t>() >= 0))
            throw Error("\"seed\" must be a non-negative integer");
        r.seed = j["seed"].get<uint64_t>();
    }
    num("cfg", &r.cfg);
    num("temperature", &r.temperature);
    if (integer("top_k", 0, 1 << 30, &v)) r.top_k = int(v);
    num("top_p", &r.top_p);
    if (j.contains("negative_prompt")) {
        if (!j["negative_prompt"].is_string()) throw Error("\"negative_prompt\" must be a string");
        r.negative_prompt = j["negative_prompt"].get<std::string>();
    }
    if (j.contains("greedy")) {
        if (!j["greedy"].is_boolean()) throw Error("\"greedy\" must be true or false");
        r.greedy = j["greedy"].get<bool>();
    }
    r.validate();
}

int env_int(const char* name, bool* present) {
    const char* v = std::getenv(name);
    *present = v && *v;
    if (!*present) return 0;
    char* end = nullptr;
    long x = std::strtol(v, &end, 10);
    if (*end || x < 0 || x > 1000000) throw Error(std::string("environment variable ") + name + "=\"" + v + "\" is not a valid index/count");
    return int(x);
}

}  // namespace

std::vector<BatchJob> parse_jobs_text(const std::string& text, const std::string& source) {
    std::vector<BatchJob> jobs;
    std::istringstream in(text);
    std::string line;
    std::map<std::string, int> seen;
    for (int no = 1; std::getline(in, line); ++no) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        BatchJob job;
        job.line = no;
        try {
            json j = json::parse(line);
            parse_job(j, job);
            auto [it, fresh] = seen.emplace(job.id, no);
            if (!fresh) throw Error("duplicate id \"" + job.id + "\" (first used on line " + std::to_string(it->second) + ")");
        } catch (const json::exception& e) {
            job.error = "not valid JSON: " + std::string(e.what());
        } catch (const Error& e) {
            job.error = e.what();
        }
        if (!job.error.empty()) job.error = source + ":" + std::to_string(no) + ": " + job.error;
        jobs.push_back(std::move(job));
    }
    return jobs;
}

std::vector<BatchJob> parse_jobs_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw Error(path + ": cannot open the jobs file (one JSON object per line)");
    std::string text((std::istreambuf_iterator<char>(f)), {});
    return parse_jobs_text(text, path);
}

Shard detect_shard(const std::string& flag, int count) {
    Shard s;
    if (!flag.empty()) {
        int i = -1, n = -1;
        char extra = 0;
        if (std::sscanf(flag.c_str(), "%d/%d%c", &i, &n, &extra) != 2 || n < 1 || i < 0 || i >= n)
            throw Error("--shard \"" + flag + "\": expected I/N with 0 <= I < N, e.g. --shard 2/8");
        s.index = i;
        s.count = n;
        s.source = "--shard";
        return s;
    }
    bool has_id = false, has_count = false, has_min = false;
    int id = env_int("SLURM_ARRAY_TASK_ID", &has_id);
    int n = env_int("SLURM_ARRAY_TASK_COUNT", &has_count);
    int mn = env_int("SLURM_ARRAY_TASK_MIN", &has_min);
    if (has_id && has_count) {
        const int idx = id - (has_min ? mn : 0);
        if (n < 1 || idx < 0 || idx >= n)
            throw Error("Slurm array task " + std::to_string(id) + " (min " + std::to_string(mn) + ") is outside a count of " +
                        std::to_string(n) + "; use a contiguous --array=0-(N-1) range or pass --shard I/N");
        s.index = idx;
        s.count = n;
        s.source = "slurm";
        return s;
    }
    bool has_k8s = false, has_kc = false;
    int k = env_int("JOB_COMPLETION_INDEX", &has_k8s);
    if (has_k8s) {
        int c = count > 0 ? count : env_int("JANUS_SHARD_COUNT", &has_kc);
        if (c < 1)
            throw Error("JOB_COMPLETION_INDEX is set (Kubernetes Indexed Job) but the shard count is not: pass "
                        "--shard-count N or set JANUS_SHARD_COUNT to the Job's completions");
        if (k >= c) throw Error("JOB_COMPLETION_INDEX " + std::to_string(k) + " is not below the shard count " + std::to_string(c));
        s.index = k;
        s.count = c;
        s.source = "kubernetes";
        return s;
    }
    if (count > 1) throw Error("--shard-count needs --shard I/N, a Slurm array or JOB_COMPLETION_INDEX");
    return s;
}

// ---- files ------------------------------------------------------------------------------------------

void write_file_atomic(const std::string& path, const std::string& data) {
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    fs::path dir = fs::path(path).parent_path();
    if (!dir.empty()) fs::create_directories(dir);
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) throw Error(tmp + ": cannot create (is the output directory writable?)");
        f.write(data.data(), std::streamsize(data.size()));
        f.flush();
        if (!f) throw Error(tmp + ": write failed (disk full?)");
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw Error(path + ": cannot rename the temp file into place");
    }
}

std::string record_path(const std::string& out, const BatchJob& job) {
    return (fs::path(out) / ".janus-batch" / "records" / (job.key() + ".json")).string();
}

std::string image_rel_path(const BatchJob& job, int k) { return job.id + "/image-" + std::to_string(k) + ".png"; }

bool read_record(const std::string& path, json* out) {
    std::ifstream f(path);
    if (!f) return false;
    try {
        *out = json::parse(f);
        return out->is_object();
    } catch (...) {
        return false;  // a corrupt record counts as absent: the job is redone
    }
}

void remove_stale_temps(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return;
    for (auto& e : fs::directory_iterator(dir, ec))
        if (e.path().filename().string().find(".tmp-") != std::string::npos) fs::remove(e.path(), ec);
}

int write_batch_manifest(const std::string& jobs_file, const std::string& out) {
    std::vector<BatchJob> jobs = parse_jobs_file(jobs_file);
    std::string text;
    int n = 0;
    for (const auto& job : jobs) {
        json rec;
        if (!read_record(record_path(out, job), &rec)) continue;
        text += rec.dump() + "\n";
        n++;
    }
    write_file_atomic((fs::path(out) / "manifest.jsonl").string(), text);
    return n;
}

}  // namespace janus
