// janus::Error — the one exception type the library throws for bad input (files, flags, requests).
// Messages name the file or argument, state the problem and, where possible, what to do next.
#pragma once
#include <stdexcept>
#include <string>

namespace janus {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Error raised by a file parser: "<path>: <problem>".
inline Error file_error(const std::string& path, const std::string& problem) {
    return Error(path + ": " + problem);
}

}  // namespace janus
