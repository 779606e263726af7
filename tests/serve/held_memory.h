// The memory a serve test process holds, for "memory comes back after load" checks: resident memory
// (VmRSS) normally; under AddressSanitizer the allocator's live heap bytes instead, since ASan's
// quarantine (256 MiB by default) and shadow memory keep RSS up after a load even without a leak.
#pragma once
#include <malloc.h>

#include <cstdint>
#include <fstream>
#include <string>

#if defined(__SANITIZE_ADDRESS__)  // GCC
#define SERVE_TEST_ASAN 1
#elif defined(__has_feature)  // clang
#if __has_feature(address_sanitizer)
#define SERVE_TEST_ASAN 1
#endif
#endif
#ifdef SERVE_TEST_ASAN
// From the sanitizer runtime's public allocator interface (clang ships it in
// <sanitizer/allocator_interface.h>; GCC 12 has the function but not the header).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace serve_test {

#ifdef SERVE_TEST_ASAN
inline constexpr bool kHeldIsLiveHeap = true;
inline const char* const kHeldName = "live heap (ASan)";
#else
inline constexpr bool kHeldIsLiveHeap = false;
inline const char* const kHeldName = "RSS";
#endif

// trim_first: malloc_trim(0) before reading RSS (the load test measures leaks, not the allocator's
// cache; the memory test leaves trimming to the server, which is what it checks).
inline int64_t held_bytes(bool trim_first) {
#ifdef SERVE_TEST_ASAN
    (void)trim_first;
    return int64_t(__sanitizer_get_current_allocated_bytes());
#else
    if (trim_first) malloc_trim(0);
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
    return 0;
#endif
}

}  // namespace serve_test
