// ThreadPool: a small persistent pool for the CPU backend. parallel_for splits [0, n) into chunks of
// `grain` items handed out in order; every item is computed by exactly one thread and the work done
// for an item never depends on how many threads there are, so results are bitwise identical for any
// thread count (kernels partition outputs, never a reduction). The calling thread takes part.
// A parallel_for issued from inside a pool task, or while another thread is using the pool, runs
// serially on the caller instead of deadlocking. The caller never waits for a worker that has not
// started: whoever is running takes the remaining chunks.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace janus::cpu {

class ThreadPool {
public:
    explicit ThreadPool(int threads);  // total threads including the caller; >= 1
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return threads_; }
    // fn(begin, end) over chunks of [0, n); chunk boundaries are multiples of grain.
    void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

private:
    void worker_loop();
    void run_chunks();

    int threads_;
    std::vector<std::thread> workers_;
    std::mutex busy_;  // one parallel_for at a time
    std::mutex m_;
    std::condition_variable cv_;
    uint64_t generation_ = 0;  // guarded by m_; workers also poll the atomic copy while spinning
    std::atomic<uint64_t> generation_atomic_{0};
    bool stop_ = false;
    // current job
    const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
    int64_t n_ = 0, grain_ = 1;
    std::atomic<int64_t> next_{0};
    // Workers that joined the current job. A worker joins (increments) and then checks closed_;
    // the caller, done with the chunks, sets closed_ and waits for inflight_ to drain — so it never
    // waits for a worker that the OS has not scheduled yet (that one sees closed_ and skips).
    std::atomic<int> inflight_{0};
    std::atomic<uint64_t> closed_{0};
};

}  // namespace janus::cpu
