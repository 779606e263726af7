// WeightSource: official-name lookups that fall back to the transformers-converted spelling, which
// models/tensor_names.h (the one name map, facts §2.4) provides; see name_map.h.
#include "vision/name_map.h"

#include "janus/error.h"
#include "models/tensor_names.h"

namespace janus::vision {

std::string hf_name(const std::string& n) { return models::transformers_name(n); }

Tensor WeightSource::find(const std::string& official) const {
    Tensor t = find_(official);
    if (!t.defined()) {
        std::string h = hf_name(official);
        if (!h.empty()) t = find_(h);
    }
    return t.defined() ? backend_->upload(t) : t;
}

Tensor WeightSource::require(const std::string& official, const Shape& shape) const {
    Tensor t = find(official);
    if (!t.defined()) {
        std::string h = hf_name(official);
        throw Error(source_ + ": tensor '" + official + "'" + (h.empty() ? "" : " (or '" + h + "')") +
                    " not found — is this a complete Janus checkpoint (official or transformers layout)?");
    }
    if (shape.ndim > 0 && !(t.shape() == shape))
        throw Error(source_ + ": tensor '" + official + "' has shape " + t.shape().str() + ", expected " +
                    shape.str() + " from the config — the checkpoint and its config.json disagree");
    return t;
}

}  // namespace janus::vision
