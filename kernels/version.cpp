// Library version string (set by CMake from project(VERSION)).
#include "janus/janus.h"

namespace janus {
const char* version() { return JANUS_VERSION; }
}  // namespace janus
