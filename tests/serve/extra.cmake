# The official `openai` npm client against `janus serve` (tests/serve_js/): packages installed from
# the npm registry into the build tree at test time; SKIP (exit 77) when node/npm or the registry are
# unavailable. Uses the trained janus-shapes model when its weights are present (then the caption of
# a drawn picture is checked for content), else tiny-janus.
set(JANUS_SERVE_JS_MODEL ${CMAKE_SOURCE_DIR}/tests/data/models/tiny-janus)
if(EXISTS ${CMAKE_SOURCE_DIR}/samples/models/janus-shapes/pytorch_model.bin)
  set(JANUS_SERVE_JS_MODEL ${CMAKE_SOURCE_DIR}/samples/models/janus-shapes)
endif()
add_test(NAME serve_openai_js
  COMMAND ${CMAKE_SOURCE_DIR}/tests/serve_js/run.sh $<TARGET_FILE:janus_cli> ${JANUS_SERVE_JS_MODEL}
          ${CMAKE_BINARY_DIR}/serve_js)
set_tests_properties(serve_openai_js PROPERTIES LABELS serve SKIP_RETURN_CODE 77 TIMEOUT 150)

# `janus serve` as a process against hostile clients (issue 26): --api-key-file / JANUS_API_KEY keep
# the key out of the process list; SIGTERM exits within --shutdown-timeout + 2 s whatever clients do.
add_test(NAME serve_cli_hostile
  COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/serve/hostile_cli_test.py $<TARGET_FILE:janus_cli>
          ${CMAKE_SOURCE_DIR}/tests/data/models/tiny-janus)
set_tests_properties(serve_cli_hostile PROPERTIES LABELS serve TIMEOUT 180)
