// The default model: janus-shapes, the tiny Janus trained by the project on pictures of simple shapes
// (samples/models/janus-shapes/, MODEL_CARD.md there). The CLI uses it when -m/--model is not given.
//
// Lookup order of default_model_dir():
//   1. $JANUS_MODEL, if set and non-empty (must be a directory with config.json);
//   2. next to the executable: <exe dir>/../../samples/models/janus-shapes (build tree: build/bin/janus),
//      <exe dir>/../samples/models/janus-shapes, <exe dir>/../share/janus/models/janus-shapes (install);
//   3. the source tree the library was built from (JANUS_SOURCE_DIR/samples/models/janus-shapes).
// No tensors here; only paths.
#pragma once
#include <string>

namespace janus {

// The directory of the default model, as above. Throws janus::Error saying how to pass -m if none exists.
std::string default_model_dir();

// `given` when it is non-empty, else default_model_dir().
std::string resolve_model_dir(const std::string& given);

// True when `dir` is the janus-shapes default (its config/model card name it), for notices.
bool is_default_model(const std::string& dir);

// One paragraph for stderr: the default model only knows shapes; where to get Janus-Pro or a chat model.
std::string default_model_notice();

}  // namespace janus
