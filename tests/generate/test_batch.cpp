// `janus batch` (include/janus/batch.h) on tests/data/models/tiny-janus: JSONL parsing with per-line
// errors, shard assignment (--shard, Slurm, Kubernetes) that is disjoint and covers every job, the
// manifest (exactly one record per job), image k of a job == image k of generate() with the same
// prompt/seed/flags, resume after the process is killed with SIGKILL mid-way (the test re-executes
// itself as the child, which raises SIGKILL from the after-image hook: no destructor, no flush runs),
// and sharded runs into one OUT directory.
#include <csignal>
#include <cstdlib>
#include <sys/wait.h>

#include "gen_test_util.h"
#include "janus/batch.h"

using namespace janus;
using namespace gen_test;

namespace {

const char* kJobs =
    "{\"id\": \"red\", \"prompt\": \"a red circle on a blue background\", \"n\": 2, \"seed\": 7}\n"
    "this is not json\n"
    "{\"id\": \"green\", \"prompt\": \"a small green square\", \"n\": 1, \"colour\": 3}\n"
    "\n"
    "{\"id\": \"star\", \"prompt\": \"a yellow star\", \"n\": 3, \"seed\": 11, \"temperature\": 0.9, \"top_k\": 50}\n"
    "{\"id\": \"neg\", \"prompt\": \"a white triangle\", \"negative_prompt\": \"blurry\", \"n\": 1, \"seed\": 2, \"cfg\": 3.5}\n"
    "{\"id\": \"red\", \"prompt\": \"duplicate id\"}\n"
    "{\"id\": \"bad n\", \"prompt\": \"x\", \"n\": 0}\n";

std::string write_jobs(const TempDir& d) {
    std::string p = d / "jobs.jsonl";
    std::ofstream(p) << kJobs;
    return p;
}

BatchOptions options(const std::string& jobs, const std::string& out) {
    BatchOptions o;
    o.gen.model = model_dir();
    o.gen.device = "cpu";
    o.gen.dtype = "f32";
    o.jobs = jobs;
    o.out = out;
    o.max_batch = 3;
    return o;
}

std::vector<nlohmann::json> manifest_records(const std::string& out) {
    std::ifstream f(out + "/manifest.jsonl");
    std::vector<nlohmann::json> v;
    std::string line;
    while (std::getline(f, line)) v.push_back(nlohmann::json::parse(line));
    return v;
}

TEST(BatchJobs, ParsesAndReportsLineErrors) {
    std::vector<BatchJob> jobs = parse_jobs_text(kJobs, "jobs.jsonl");
    ASSERT_EQ(jobs.size(), 7u);  // the blank line 4 is skipped
    EXPECT_EQ(jobs[0].line, 1);
    EXPECT_TRUE(jobs[0].error.empty());
    EXPECT_EQ(jobs[0].request.n, 2);
    EXPECT_EQ(jobs[0].request.seed, 7u);
    EXPECT_NE(jobs[1].error.find("jobs.jsonl:2: not valid JSON"), std::string::npos) << jobs[1].error;
    EXPECT_NE(jobs[2].error.find("jobs.jsonl:3: unknown key(s): colour"), std::string::npos) << jobs[2].error;
    EXPECT_EQ(jobs[3].line, 5);
    EXPECT_FLOAT_EQ(jobs[3].request.temperature, 0.9f);
    EXPECT_EQ(jobs[3].request.top_k, 50);
    ASSERT_TRUE(jobs[4].request.negative_prompt.has_value());
    EXPECT_FLOAT_EQ(jobs[4].request.cfg, 3.5f);
    EXPECT_NE(jobs[5].error.find("duplicate id \"red\" (first used on line 1)"), std::string::npos) << jobs[5].error;
    EXPECT_NE(jobs[6].error.find(":8: "), std::string::npos) << jobs[6].error;
    EXPECT_EQ(jobs[5].key(), "line-7");
    EXPECT_EQ(jobs[0].key(), "id-red");
}

TEST(BatchShards, DisjointStableAndFromSchedulers) {
    for (int n : {1, 2, 3, 7}) {
        for (int line = 1; line <= 50; ++line) {
            int owners = 0;
            for (int i = 0; i < n; ++i) owners += Shard{i, n, "--shard"}.owns(line);
            EXPECT_EQ(owners, 1) << "line " << line << " of " << n << " shards";
        }
    }
    Shard s = detect_shard("2/5");
    EXPECT_EQ(s.index, 2);
    EXPECT_EQ(s.count, 5);
    EXPECT_THROW(detect_shard("5/5"), Error);
    EXPECT_THROW(detect_shard("a/b"), Error);
    ::setenv("SLURM_ARRAY_TASK_ID", "4", 1);
    ::setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
    ::setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
    s = detect_shard("");
    EXPECT_EQ(s.source, "slurm");
    EXPECT_EQ(s.index, 3);
    EXPECT_EQ(s.count, 4);
    EXPECT_EQ(detect_shard("0/2").source, "--shard");  // the flag wins
    ::unsetenv("SLURM_ARRAY_TASK_ID");
    ::unsetenv("SLURM_ARRAY_TASK_COUNT");
    ::unsetenv("SLURM_ARRAY_TASK_MIN");
    ::setenv("JOB_COMPLETION_INDEX", "1", 1);
    EXPECT_THROW(detect_shard(""), Error);  // no count given
    s = detect_shard("", 3);
    EXPECT_EQ(s.source, "kubernetes");
    EXPECT_EQ(s.index, 1);
    EXPECT_EQ(s.count, 3);
    ::setenv("JANUS_SHARD_COUNT", "2", 1);
    EXPECT_EQ(detect_shard("").count, 2);
    ::unsetenv("JOB_COMPLETION_INDEX");
    ::unsetenv("JANUS_SHARD_COUNT");
    EXPECT_EQ(detect_shard("").source, "none");
}

TEST(BatchRun, ManifestImagesMatchGenerateAndRerunSkips) {
    TempDir d("batch");
    const std::string jobs = write_jobs(d), out = d / "out";
    BatchSummary s = run_batch(options(jobs, out));
    EXPECT_EQ(s.jobs, 7);
    EXPECT_EQ(s.ok, 3);
    EXPECT_EQ(s.failed, 4);
    EXPECT_EQ(s.images_written, 6);
    std::vector<nlohmann::json> recs = manifest_records(out);
    ASSERT_EQ(recs.size(), 7u) << "exactly one record per job";
    std::vector<int> lines;
    for (auto& r : recs) lines.push_back(r["line"].get<int>());
    EXPECT_EQ(lines, (std::vector<int>{1, 2, 3, 5, 6, 7, 8}));
    EXPECT_EQ(recs[0]["status"], "ok");
    EXPECT_EQ(recs[0]["images"], nlohmann::json({"red/image-0.png", "red/image-1.png"}));
    EXPECT_EQ(recs[1]["status"], "error");
    EXPECT_EQ(recs[2]["id"], "green");
    EXPECT_EQ(recs[2]["status"], "error");
    EXPECT_TRUE(recs[3]["timings"].contains("wall_s"));

    // image k of a job == image k of generate() with the same prompt, seed and flags
    auto g = open_tiny("f32");
    std::vector<BatchJob> parsed = parse_jobs_file(jobs);
    for (int idx : {0, 3, 4}) {
        const BatchJob& job = parsed[size_t(idx)];
        GenerateResult res = g->generate(job.request);
        for (int k = 0; k < job.request.n; ++k)
            EXPECT_EQ(read_image(out + "/" + job.id + "/image-" + std::to_string(k) + ".png").pixels,
                      res.images[size_t(k)].image.pixels)
                << job.id << " image " << k;
    }

    BatchSummary again = run_batch(options(jobs, out));
    EXPECT_EQ(again.skipped, 7);
    EXPECT_EQ(again.images_written, 0);
    EXPECT_EQ(manifest_records(out).size(), 7u);
}

// Child role: killed by SIGKILL after `JANUS_BATCH_CHILD_KILL_AFTER` images.
TEST(BatchResume, KilledMidwayIsRedoneWithoutDuplicates) {
    if (const char* child = std::getenv("JANUS_BATCH_CHILD_OUT")) {
        const int after = std::atoi(std::getenv("JANUS_BATCH_CHILD_KILL_AFTER"));
        BatchOptions o = options(std::getenv("JANUS_BATCH_CHILD_JOBS"), child);
        o.max_batch = 2;
        o.on_image_written = [after](int n) {
            if (n >= after) std::raise(SIGKILL);
        };
        run_batch(o);
        FAIL() << "the child should have been killed";
        return;
    }
    TempDir d("resume");
    const std::string jobs = write_jobs(d), out = d / "out", ref = d / "ref";
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::setenv("JANUS_BATCH_CHILD_OUT", out.c_str(), 1);
        ::setenv("JANUS_BATCH_CHILD_JOBS", jobs.c_str(), 1);
        ::setenv("JANUS_BATCH_CHILD_KILL_AFTER", "3", 1);
        const char* argv[] = {"/proc/self/exe", "--gtest_filter=BatchResume.KilledMidwayIsRedoneWithoutDuplicates", nullptr};
        ::execv("/proc/self/exe", const_cast<char* const*>(argv));
        ::_exit(127);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
    EXPECT_FALSE(std::filesystem::exists(out + "/manifest.jsonl")) << "killed before the manifest was written";
    int on_disk = 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(out))
        on_disk += e.path().extension() == ".png";
    EXPECT_EQ(on_disk, 3);

    BatchSummary s = run_batch(options(jobs, out));
    EXPECT_EQ(s.images_written + s.images_reused, 6 - (s.skipped > 4 ? 2 : 0));
    EXPECT_GE(s.images_reused + (s.skipped > 4 ? 2 : 0), 1);
    std::vector<nlohmann::json> recs = manifest_records(out);
    ASSERT_EQ(recs.size(), 7u);
    std::set<std::string> keys;
    for (auto& r : recs) keys.insert(r.value("id", std::string()) + "#" + std::to_string(r["line"].get<int>()));
    EXPECT_EQ(keys.size(), 7u) << "no duplicate records";

    // bit-identical to an uninterrupted run
    run_batch(options(jobs, ref));
    int compared = 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(ref)) {
        if (e.path().extension() != ".png") continue;
        std::string rel = std::filesystem::relative(e.path(), ref).string();
        EXPECT_EQ(slurp(out + "/" + rel), slurp(e.path().string())) << rel;
        compared++;
    }
    EXPECT_EQ(compared, 6);
    for (auto& e : std::filesystem::recursive_directory_iterator(out))
        EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos) << "leftover temp file " << e.path();
}

TEST(BatchRun, ShardsShareOneOutputDirectory) {
    TempDir d("shards");
    const std::string jobs = write_jobs(d), out = d / "out";
    int ok = 0, failed = 0;
    for (int i = 0; i < 3; ++i) {
        BatchOptions o = options(jobs, out);
        o.shard = Shard{i, 3, "--shard"};
        BatchSummary s = run_batch(o);
        ok += s.ok;
        failed += s.failed;
        EXPECT_EQ(s.mine, i == 1 ? 3 : 2);  // (line − 1) mod 3: lines 1,7 / 2,5,8 / 3,6
    }
    EXPECT_EQ(ok, 3);
    EXPECT_EQ(failed, 4);
    EXPECT_EQ(manifest_records(out).size(), 7u) << "the last shard's manifest holds every job";
}

}  // namespace
