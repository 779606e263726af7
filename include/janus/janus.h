// janus.cpp public API — umbrella header. Frontends (the CLI, the server, samples) include only
// headers under include/janus/.
#pragma once
#include "janus/error.h"

namespace janus {
// Library version, e.g. "0.1.0".
const char* version();
}  // namespace janus
