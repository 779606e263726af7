# Re-run the op table with the CPU's SIMD dispatch capped at each lower level, so the scalar, AVX2
# and AVX-512 (non-BF16) kernels are all checked on a machine that would otherwise pick the best one.
# (Levels the CPU lacks fall back to the best it has, so these never fail for want of hardware.)
foreach(isa scalar avx2 avx512)
  add_test(NAME test_ops_isa_${isa} COMMAND test_ops --gtest_brief=1)
  set_tests_properties(test_ops_isa_${isa} PROPERTIES ENVIRONMENT "JANUS_CPU_ISA=${isa}" LABELS ops)
endforeach()
