// ThreadPool implementation: workers spin briefly on a generation counter (decode issues many small
// ops back to back), then sleep on a condition variable.
#include "kernels/cpu/thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define JANUS_PAUSE() _mm_pause()
#else
#define JANUS_PAUSE() std::this_thread::yield()
#endif

namespace janus::cpu {

namespace {
thread_local bool t_inside_pool = false;
}

ThreadPool::ThreadPool(int threads) : threads_(threads < 1 ? 1 : threads) {
    for (int i = 1; i < threads_; i++) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(m_);
        stop_ = true;
        generation_++;
        generation_atomic_.store(generation_, std::memory_order_release);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunks() {
    for (;;) {
        int64_t c = next_.fetch_add(1, std::memory_order_relaxed);
        int64_t begin = c * grain_;
        if (begin >= n_) break;
        int64_t end = begin + grain_ < n_ ? begin + grain_ : n_;
        (*fn_)(begin, end);
    }
}

void ThreadPool::worker_loop() {
    t_inside_pool = true;
    uint64_t seen = 0;
    for (;;) {
        // Spin a little before sleeping: back-to-back ops then start without a futex wake-up.
        for (int i = 0; i < 4000 && generation_atomic_.load(std::memory_order_acquire) == seen; i++)
            JANUS_PAUSE();
        {
            std::unique_lock<std::mutex> lock(m_);
            cv_.wait(lock, [&] { return generation_ != seen; });
            seen = generation_;
            if (stop_) return;
        }
        inflight_.fetch_add(1, std::memory_order_seq_cst);
        if (closed_.load(std::memory_order_seq_cst) != seen) run_chunks();
        inflight_.fetch_sub(1, std::memory_order_seq_cst);
    }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    std::unique_lock<std::mutex> busy(busy_, std::defer_lock);
    if (threads_ == 1 || n <= grain || t_inside_pool || !busy.try_lock()) {
        for (int64_t b = 0; b < n; b += grain) fn(b, b + grain < n ? b + grain : n);
        return;
    }
    uint64_t gen;
    {
        std::lock_guard<std::mutex> lock(m_);
        fn_ = &fn;
        n_ = n;
        grain_ = grain;
        next_.store(0, std::memory_order_relaxed);
        gen = ++generation_;
        generation_atomic_.store(generation_, std::memory_order_release);
    }
    cv_.notify_all();
    t_inside_pool = true;
    run_chunks();
    t_inside_pool = false;
    // Close the job, then wait only for workers that joined it: spin briefly, then yield (an
    // oversubscribed machine may have descheduled one, and spinning would take its time slice).
    closed_.store(gen, std::memory_order_seq_cst);
    for (int spins = 0; inflight_.load(std::memory_order_seq_cst) != 0; spins++) {
        if (spins < 2000) JANUS_PAUSE();
        else std::this_thread::yield();
    }
    fn_ = nullptr;
}

}  // namespace janus::cpu
