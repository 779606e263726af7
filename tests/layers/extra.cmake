# Layer map checks (label layers; DEVELOPERS.md, "Layers"):
#  - layers_includes: cmake/CheckLayers.cmake over this source tree (the build runs it too);
#  - layers_includes_catch_planted: the same script over tests/data/layers/bad/, a tree with one
#    planted violation of each kind — it must name all five and only those (proves the check can fail);
#  - layer_link_<layer>: an executable that links the whole archive of one layer and only the layers
#    it may use, so a call into a layer above (or sideways) is an undefined reference at build time.
add_test(NAME layers_includes
  COMMAND ${CMAKE_COMMAND} -DJANUS_ROOT=${CMAKE_SOURCE_DIR} -P ${CMAKE_SOURCE_DIR}/cmake/CheckLayers.cmake)
set_tests_properties(layers_includes PROPERTIES LABELS layers PASS_REGULAR_EXPRESSION "every include follows the layer map")
add_test(NAME layers_includes_catch_planted
  COMMAND ${CMAKE_COMMAND} -DJANUS_ROOT=${CMAKE_CURRENT_SOURCE_DIR}/data/layers/bad -P ${CMAKE_SOURCE_DIR}/cmake/CheckLayers.cmake)
set_tests_properties(layers_includes_catch_planted PROPERTIES LABELS layers WILL_FAIL TRUE)
# WILL_FAIL alone would also pass on a crash: a second run checks the report names each violation.
add_test(NAME layers_includes_report_planted
  COMMAND ${CMAKE_COMMAND} -DJANUS_ROOT=${CMAKE_CURRENT_SOURCE_DIR}/data/layers/bad
          -DEXPECT_FILE=${CMAKE_CURRENT_LIST_DIR}/planted_violations.txt -P ${CMAKE_CURRENT_LIST_DIR}/expect_violations.cmake)
set_tests_properties(layers_includes_report_planted PROPERTIES LABELS layers)

set(_layer_deps_janus_kernels "")
set(_layer_deps_janus_tokenizers "")
set(_layer_deps_janus_models janus_kernels)
set(_layer_deps_janus_text janus_models janus_kernels)
set(_layer_deps_janus_vision janus_models janus_kernels)
set(_layer_deps_janus_pipelines janus_text janus_vision janus_tokenizers janus_models janus_kernels)
set(_layer_deps_janus_benchmarks janus_pipelines)
foreach(layer janus_kernels janus_tokenizers janus_models janus_text janus_vision janus_pipelines janus_benchmarks)
  add_executable(layer_link_${layer} ${CMAKE_CURRENT_LIST_DIR}/link_check_main.cc)
  if(layer STREQUAL "janus_kernels" AND JANUS_HAVE_CUDA)
    # janus_kernels <-> janus_cuda is a cycle of static libraries, and CMake refuses the WHOLE_ARCHIVE
    # feature on an item that also appears plain: pass the archive with raw linker flags instead.
    add_dependencies(layer_link_${layer} janus_kernels)
    target_link_libraries(layer_link_${layer} PRIVATE
      -Wl,--whole-archive $<TARGET_FILE:janus_kernels> -Wl,--no-whole-archive janus_cuda janus_deps)
  else()
    target_link_libraries(layer_link_${layer} PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,${layer}>" ${_layer_deps_${layer}} janus_deps)
  endif()
endforeach()
