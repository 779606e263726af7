// Token sampling for one row of logits [vocab] (f32, host memory): penalties, temperature, top-k,
// min-p, top-p and a draw from the counter-based RNG (text/rng.h) keyed by (seed, stream, step), so a
// row's tokens depend only on its own logits, seed, stream id and step — never on thread count or on
// which other rows share the batch. Also: stop-string matching over streamed text.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "janus/text.h"
#include "text/rng.h"

namespace janus {

// Token counts a row has seen, for the penalties. `prompt` ids count only for the repetition
// penalty (HF semantics); generated ids count for all three.
class TokenHistory {
public:
    void add_prompt(std::span<const int32_t> ids);
    void add_generated(int32_t id);
    void clear();
    const std::unordered_map<int32_t, int>& generated_counts() const { return generated_; }
    const std::unordered_map<int32_t, int>& all_counts() const { return all_; }

private:
    std::unordered_map<int32_t, int> generated_, all_;
};

// Apply repetition/presence/frequency penalties in place to logits [vocab].
void apply_penalties(std::span<float> logits, const SamplingParams& p, const TokenHistory& history);

// Index of the largest logit (lowest index on ties; NaN never wins).
int32_t argmax(std::span<const float> logits);

// Choose the next token. `logits` is modified (penalties, temperature). `stream` identifies the
// sequence (request id), `step` the index of the token being generated within it.
int32_t sample_token(std::span<float> logits, const SamplingParams& p, const TokenHistory& history,
                     uint64_t stream, uint64_t step);

// Stop strings over streamed text. push() takes newly decoded text and returns the part that is
// safe to show: text that cannot be the start of a stop string. Once a stop string is complete,
// stopped() is true and the text before it has been returned (the stop string itself is not).
class StopStringMatcher {
public:
    explicit StopStringMatcher(std::vector<std::string> stops = {}) : stops_(std::move(stops)) {}
    std::string push(const std::string& text);
    std::string finish();  // the held-back tail when generation ends without a stop string
    bool stopped() const { return stopped_; }
    const std::string& matched() const { return matched_; }

private:
    std::vector<std::string> stops_;
    std::string pending_;
    bool stopped_ = false;
    std::string matched_;
};

}  // namespace janus
