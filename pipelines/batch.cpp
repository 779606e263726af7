// run_batch (include/janus/batch.h): renders this shard's jobs with one ImageGenerator, images of
// several jobs sharing each decode step (up to max_batch images, 2 CFG rows each), writing every image
// atomically as it finishes and a record per job once all its images are on disk; the manifest is
// rebuilt from the records at the end. Resume: jobs with an "ok" record whose images exist are
// skipped; unfinished jobs only render the images that are missing (images are independent: each has
// its own sub-seed, so a redone image is bit-identical).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "janus/batch.h"
#include "pipelines/batch_internal.h"

namespace janus {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The shortest decimal that reads back as the same float (0.9f → 0.9, not 0.8999999761581421).
double tidy(float x) {
    for (int p = 1; p <= 9; ++p) {
        char b[32];
        std::snprintf(b, sizeof b, "%.*g", p, double(x));
        double d = std::strtod(b, nullptr);
        if (float(d) == x) return d;
    }
    return double(x);
}

json params_json(const BatchJob& job) {
    const ImageRequest& r = job.request;
    return {{"prompt", r.prompt},
            {"negative_prompt", r.negative_prompt ? json(*r.negative_prompt) : json()},
            {"n", r.n},
            {"seed", r.seed},
            {"cfg", tidy(r.cfg)},
            {"temperature", tidy(r.greedy ? 0.0f : r.temperature)},
            {"top_k", r.top_k},
            {"top_p", tidy(r.top_p)},
            {"greedy", r.greedy}};
}

json error_record(const BatchJob& job, const std::string& error) {
    json j;
    if (!job.id.empty()) j["id"] = job.id;
    j["line"] = job.line;
    j["status"] = "error";
    j["error"] = error;
    return j;
}

struct Running {
    BatchJob job;
    int handle = -1;
    int remaining = 0;
    double generate_s = 0, decode_s = 0;
    Clock::time_point start;
    std::map<int, uint64_t> seeds;
};

}  // namespace

BatchSummary run_batch(const BatchOptions& o) {
    auto t0 = Clock::now();
    BatchSummary sum;
    if (o.out.empty()) throw Error("-o/--output: the output directory is required");
    if (o.max_batch < 1) throw Error("--max-batch: must be >= 1");
    std::vector<BatchJob> jobs = parse_jobs_file(o.jobs);
    fs::create_directories(o.out);
    remove_stale_temps((fs::path(o.out) / ".janus-batch" / "records").string());
    auto log = [&](const std::string& s) {
        if (o.log) o.log(s);
    };

    // ---- this shard's jobs: record failed lines, skip finished jobs, find images already on disk ----
    std::vector<BatchJob> todo;
    std::map<std::string, std::vector<int>> missing;
    for (const BatchJob& job : jobs) {
        sum.jobs++;
        if (!o.shard.owns(job.line)) continue;
        sum.mine++;
        if (!job.error.empty()) {
            json old;
            if (read_record(record_path(o.out, job), &old) && old == error_record(job, job.error)) {
                sum.skipped++;
                continue;
            }
            write_file_atomic(record_path(o.out, job), error_record(job, job.error).dump());
            sum.failed++;
            log("line " + std::to_string(job.line) + ": error: " + job.error);
            continue;
        }
        const fs::path dir = fs::path(o.out) / job.id;
        remove_stale_temps(dir.string());
        std::vector<int> need;
        for (int k = 0; k < job.request.n; ++k)
            if (!fs::exists(fs::path(o.out) / image_rel_path(job, k))) need.push_back(k);
        json rec;
        const bool have = read_record(record_path(o.out, job), &rec);
        const bool same = have && rec.value("params", json()) == params_json(job);
        if (need.empty() && same && rec.value("status", "") == "ok") {
            sum.skipped++;
            continue;
        }
        if (have && rec.contains("params") && !same) {  // the job changed since its images were made: redo all
            need.clear();
            for (int k = 0; k < job.request.n; ++k) need.push_back(k);
        }
        sum.images_reused += job.request.n - int(need.size());
        missing[job.id] = need;
        todo.push_back(job);
    }

    // ---- render: submit jobs while the engine has room, step, write images as they finish ----
    std::unique_ptr<ImageGenerator> gen;
    std::map<int, Running> running;  // by handle
    size_t next = 0;
    auto finish_job = [&](Running& rj, const std::string& error) {
        const BatchJob& job = rj.job;
        json rec;
        if (error.empty()) {
            rec = {{"id", job.id}, {"line", job.line}, {"status", "ok"}};
            json imgs = json::array(), seeds = json::array();
            for (int k = 0; k < job.request.n; ++k) {
                imgs.push_back(image_rel_path(job, k));
                seeds.push_back(image_seed(job.request.seed, k));
            }
            rec["images"] = imgs;
            rec["image_seeds"] = seeds;
            rec["seed"] = job.request.seed;
            rec["params"] = params_json(job);
            rec["model"] = gen ? gen->model_name() : "";
            rec["timings"] = {{"wall_s", since(rj.start)}, {"generate_s", rj.generate_s}, {"decode_s", rj.decode_s}};
            sum.ok++;
            log(job.id + ": ok, " + std::to_string(job.request.n) + " image(s)");
        } else {
            rec = error_record(job, error);
            sum.failed++;
            log(job.id + ": error: " + error);
        }
        write_file_atomic(record_path(o.out, job), rec.dump());
    };

    int pending_images = 0;
    while (next < todo.size() || !running.empty()) {
        // keep about two steps' worth of images queued so every step is full
        while (next < todo.size() && pending_images < 2 * o.max_batch) {
            BatchJob& job = todo[next++];
            Running rj;
            rj.job = job;
            rj.start = Clock::now();
            const std::vector<int>& need = missing[job.id];
            if (need.empty()) {  // images all on disk but no record: only the record is missing
                finish_job(rj, "");
                continue;
            }
            try {
                if (!gen) {
                    ImageGenOptions go = o.gen;
                    go.max_images = o.max_batch;
                    gen = ImageGenerator::open(go);
                    int longest = 2;
                    for (const auto& j : todo) {
                        longest = std::max<int>(longest, int(gen->prompt_ids(j.request.prompt).size()));
                        if (j.request.negative_prompt)
                            longest = std::max<int>(longest, int(gen->prompt_ids(*j.request.negative_prompt).size()));
                    }
                    gen->configure(o.max_batch, longest);
                }
                ImageRequest r = job.request;
                r.only_images = need;
                rj.handle = gen->submit(r);
                rj.remaining = int(need.size());
                pending_images += rj.remaining;
                running[rj.handle] = std::move(rj);
            } catch (const Error& e) {
                if (!gen) throw;  // the model itself failed to open: nothing can run
                finish_job(rj, e.what());
            }
        }
        if (running.empty()) continue;
        gen->step();
        for (GeneratedImage& im : gen->take_finished()) {
            auto it = running.find(im.request);
            if (it == running.end()) continue;
            Running& rj = it->second;
            const std::string path = (fs::path(o.out) / image_rel_path(rj.job, im.index)).string();
            write_png_atomic(path, im.image, image_text_chunks(rj.job.request, im, gen->model_name()));
            rj.generate_s += im.generate_seconds;
            rj.decode_s += im.decode_seconds;
            sum.images_written++;
            pending_images--;
            if (o.on_image_written) o.on_image_written(sum.images_written);
            if (--rj.remaining == 0) {
                finish_job(rj, "");
                running.erase(it);
            }
        }
    }
    write_batch_manifest(o.jobs, o.out);
    sum.seconds = since(t0);
    return sum;
}

}  // namespace janus
