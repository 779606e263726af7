// Sampling implementation (see text/sampling.h). All arithmetic on one thread per row; the
// candidate order is fully determined by (logit desc, id asc), so draws are reproducible.
#include "text/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace janus {

void SamplingParams::validate() const {
    auto bad = [](const std::string& what) { throw Error("sampling: " + what); };
    if (!(temperature >= 0.0f) || !std::isfinite(temperature))
        bad("--temperature must be a finite number >= 0 (0 = greedy), got " + std::to_string(temperature));
    if (top_k < 0) bad("--top-k must be >= 0 (0 = off), got " + std::to_string(top_k));
    if (!(top_p > 0.0f && top_p <= 1.0f)) bad("--top-p must be in (0, 1], got " + std::to_string(top_p));
    if (!(min_p >= 0.0f && min_p <= 1.0f)) bad("--min-p must be in [0, 1], got " + std::to_string(min_p));
    if (!(repetition_penalty > 0.0f) || !std::isfinite(repetition_penalty))
        bad("--repeat-penalty must be > 0 (1 = off), got " + std::to_string(repetition_penalty));
    if (!std::isfinite(presence_penalty) || !std::isfinite(frequency_penalty))
        bad("presence/frequency penalties must be finite");
}

ComputeDType compute_dtype_from_name(const std::string& name) {
    if (name == "auto") return ComputeDType::auto_;
    if (name == "f32" || name == "float32") return ComputeDType::f32;
    if (name == "bf16" || name == "bfloat16") return ComputeDType::bf16;
    throw Error("--dtype: unknown compute dtype '" + name + "': use f32, bf16 or auto");
}

void TokenHistory::add_prompt(std::span<const int32_t> ids) {
    for (int32_t id : ids) all_[id]++;
}
void TokenHistory::add_generated(int32_t id) {
    all_[id]++;
    generated_[id]++;
}
void TokenHistory::clear() {
    all_.clear();
    generated_.clear();
}

void apply_penalties(std::span<float> logits, const SamplingParams& p, const TokenHistory& history) {
    const int64_t V = int64_t(logits.size());
    if (p.repetition_penalty != 1.0f) {
        for (auto& [id, n] : history.all_counts()) {
            if (id < 0 || id >= V) continue;
            float& l = logits[size_t(id)];
            l = l > 0 ? l / p.repetition_penalty : l * p.repetition_penalty;
        }
    }
    if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
        for (auto& [id, n] : history.generated_counts()) {
            if (id < 0 || id >= V || n <= 0) continue;
            logits[size_t(id)] -= p.presence_penalty + p.frequency_penalty * float(n);
        }
    }
}

int32_t argmax(std::span<const float> logits) {
    int32_t best = 0;
    float bv = -INFINITY;
    bool found = false;
    for (size_t i = 0; i < logits.size(); i++) {
        float v = logits[i];
        if (std::isnan(v)) continue;
        if (!found || v > bv) {
            bv = v;
            best = int32_t(i);
            found = true;
        }
    }
    return best;
}

int32_t sample_token(std::span<float> logits, const SamplingParams& p, const TokenHistory& history,
                     uint64_t stream, uint64_t step) {
    if (logits.empty()) throw Error("sampling: empty logits row");
    apply_penalties(logits, p, history);
    if (p.greedy()) return argmax(logits);

    const float inv_t = 1.0f / p.temperature;
    std::vector<int32_t> idx(logits.size());
    std::iota(idx.begin(), idx.end(), 0);
    // Drop NaN / -inf candidates up front.
    idx.erase(std::remove_if(idx.begin(), idx.end(),
                             [&](int32_t i) { return !(logits[size_t(i)] > -INFINITY); }),
              idx.end());
    if (idx.empty()) return argmax(logits);
    auto order = [&](int32_t a, int32_t b) {
        float la = logits[size_t(a)], lb = logits[size_t(b)];
        return la > lb || (la == lb && a < b);
    };
    size_t keep = idx.size();
    if (p.top_k > 0 && size_t(p.top_k) < keep) {
        keep = size_t(p.top_k);
        std::nth_element(idx.begin(), idx.begin() + std::ptrdiff_t(keep) - 1, idx.end(), order);
        idx.resize(keep);
    }
    std::sort(idx.begin(), idx.end(), order);

    // Softmax of logits / T over the candidates, in double.
    std::vector<double> prob(idx.size());
    const double lmax = double(logits[size_t(idx[0])]) * inv_t;
    double sum = 0;
    for (size_t i = 0; i < idx.size(); i++) {
        prob[i] = std::exp(double(logits[size_t(idx[i])]) * inv_t - lmax);
        sum += prob[i];
    }
    for (auto& q : prob) q /= sum;
    size_t n = idx.size();
    if (p.min_p > 0.0f) {
        const double thr = double(p.min_p) * prob[0];
        size_t m = 1;
        while (m < n && prob[m] >= thr) m++;
        n = m;
    }
    if (p.top_p < 1.0f) {
        double cum = 0;
        size_t m = 0;
        while (m < n) {
            cum += prob[m];
            m++;
            if (cum >= double(p.top_p)) break;
        }
        n = std::max<size_t>(m, 1);
    }
    double total = 0;
    for (size_t i = 0; i < n; i++) total += prob[i];
    const double u = CounterRng(p.seed).uniform(stream, step) * total;
    double cum = 0;
    for (size_t i = 0; i < n; i++) {
        cum += prob[i];
        if (u < cum) return idx[i];
    }
    return idx[n - 1];
}

std::string StopStringMatcher::push(const std::string& text) {
    if (stopped_) return "";
    pending_ += text;
    if (stops_.empty()) {
        std::string out;
        out.swap(pending_);
        return out;
    }
    // Earliest complete stop string.
    size_t best = std::string::npos;
    for (const auto& s : stops_) {
        if (s.empty()) continue;
        size_t at = pending_.find(s);
        if (at != std::string::npos && at < best) {
            best = at;
            matched_ = s;
        }
    }
    if (best != std::string::npos) {
        stopped_ = true;
        std::string out = pending_.substr(0, best);
        pending_.clear();
        return out;
    }
    // Hold back the longest suffix that is a proper prefix of some stop string.
    size_t hold = 0;
    for (const auto& s : stops_) {
        for (size_t k = std::min(s.size() - 1, pending_.size()); k > hold; k--) {
            if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
                hold = k;
                break;
            }
        }
    }
    std::string out = pending_.substr(0, pending_.size() - hold);
    pending_.erase(0, pending_.size() - hold);
    return out;
}

std::string StopStringMatcher::finish() {
    std::string out;
    if (!stopped_) out.swap(pending_);
    pending_.clear();
    return out;
}

}  // namespace janus
