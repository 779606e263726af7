// Unicode helpers for the tokenizer: UTF-8 decoding/encoding, character classes with the meaning the
// Rust `tokenizers` library gives them (char::is_whitespace, is_alphanumeric, is_numeric, Unicode
// punctuation), normalization forms and lowercasing through utf8proc, and the GPT-2 byte↔char map
// used by ByteLevel. Works on std::string holding UTF-8; no tensors.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace janus::tok_detail {

// Decodes one code point at s[i]; sets `len` to the bytes used. Invalid or truncated sequences
// return -1 with len = 1 (one bad byte).
int32_t utf8_decode(std::string_view s, size_t i, int* len);
void utf8_append(std::string& out, int32_t cp);
size_t utf8_char_len(unsigned char lead);  // 1..4 from the lead byte (1 for a bad lead)
bool utf8_valid(std::string_view s);
// Replaces every invalid byte by U+FFFD (as String::from_utf8_lossy does per bad sequence byte run).
std::string utf8_lossy(std::string_view s);
// Length of the longest prefix of `s` that does not end inside an incomplete-but-valid-so-far
// sequence (used by streaming decode to hold back a partial code point).
size_t utf8_complete_prefix(std::string_view s);

bool is_whitespace(int32_t cp);    // Rust char::is_whitespace (White_Space property)
bool is_numeric(int32_t cp);       // Nd | Nl | No
bool is_alphanumeric(int32_t cp);  // letters, marks of alphabetic kind, numbers
bool is_punctuation(int32_t cp);   // ASCII punctuation or Unicode P*

enum class NormForm { NFC, NFD, NFKC, NFKD };
std::string normalize(std::string_view s, NormForm form);
std::string lowercase(std::string_view s);  // full per-char lowercase (U+0130 → "i\u0307")

// GPT-2 byte-level alphabet: byte b → code point byte_to_cp()[b]; cp_to_byte(cp) → byte or -1.
const std::array<int32_t, 256>& byte_to_cp();
int cp_to_byte(int32_t cp);
// UTF-8 spelling of each byte's char, e.g. byte_char(' ') == "Ġ".
const std::array<std::string, 256>& byte_chars();

}  // namespace janus::tok_detail
