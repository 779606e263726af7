# bench_cuda (tests/cuda/bench/cuda_bench.cpp): op-level GPU benchmarks run by scripts/device-check.
# Built only with the CUDA backend; not a ctest entry (it needs a GPU and prints numbers, not verdicts).
if(JANUS_HAVE_CUDA)
  add_executable(bench_cuda ${CMAKE_CURRENT_LIST_DIR}/bench/cuda_bench.cpp)
  target_link_libraries(bench_cuda PRIVATE janus)
  set_target_properties(bench_cuda PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
endif()
