# CLI checks for `janus info` (label io): JSON for the tiny Janus model, and the error listing the
# supported architectures for an unsupported config.json.
add_test(NAME io_cli_info_json
  COMMAND janus_cli info -m ${CMAKE_CURRENT_SOURCE_DIR}/data/models/tiny-janus-lm/bf16 --json)
set_tests_properties(io_cli_info_json PROPERTIES LABELS io
  PASS_REGULAR_EXPRESSION "\"architecture\": \"MultiModalityCausalLM\"")
add_test(NAME io_cli_info_unknown_arch
  COMMAND janus_cli info -m ${CMAKE_CURRENT_SOURCE_DIR}/data/io/info_unknown_arch)
set_tests_properties(io_cli_info_unknown_arch PROPERTIES LABELS io
  PASS_REGULAR_EXPRESSION "janus: error: .*unsupported architecture 'MistralForCausalLM'. Supported: LlamaForCausalLM")
