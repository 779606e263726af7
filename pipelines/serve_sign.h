// SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104) for the signed, expiring image URLs of
// `janus serve` (a page's <img> cannot send the Bearer key), and a constant-time comparison.
#pragma once
#include <string>

namespace janus::serve {

std::string sha256(const std::string& data);                           // 32 raw bytes
std::string hmac_sha256_hex(const std::string& key, const std::string& message);  // 64 hex digits
bool equal_constant_time(const std::string& a, const std::string& b);
std::string random_secret(int bytes);  // from getrandom(); throws janus::Error when unavailable

}  // namespace janus::serve
