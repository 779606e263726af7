// SAX loader for tokenizer.json (see json_load.h). Events are forwarded to nlohmann's DOM builder,
// except inside "model"."vocab" and "model"."merges", which go to a flat arena.
#include "tokenizers/json_load.h"

#include "janus/error.h"

namespace janus::tok_detail {

namespace {

class Handler {
public:
    using number_integer_t = json::number_integer_t;
    using number_unsigned_t = json::number_unsigned_t;
    using number_float_t = json::number_float_t;
    using string_t = json::string_t;
    using binary_t = json::binary_t;

    Handler(json& root, RawModel& raw, const std::string& src) : dom_(root, true), raw_(raw), src_(src) {}

    bool null() { return mode_ == Mode::Dom ? dom_.null() : bad_value("null"); }
    bool boolean(bool v) { return mode_ == Mode::Dom ? dom_.boolean(v) : bad_value("a boolean"); }
    bool number_integer(number_integer_t v) { return mode_ == Mode::Dom ? dom_.number_integer(v) : vocab_value(v); }
    bool number_unsigned(number_unsigned_t v) {
        if (mode_ == Mode::Dom) return dom_.number_unsigned(v);
        return vocab_value(v > number_unsigned_t(INT64_MAX) ? -1 : int64_t(v));
    }
    bool number_float(number_float_t v, const string_t& s) { return mode_ == Mode::Dom ? dom_.number_float(v, s) : bad_value("a float"); }
    bool binary(binary_t& b) { return mode_ == Mode::Dom ? dom_.binary(b) : bad_value("binary data"); }
    bool string(string_t& s) {
        switch (mode_) {
            case Mode::Dom: return dom_.string(s);
            case Mode::Merges: {  // "left right"
                if (pair_depth_ == 0) {
                    size_t sp = s.find(' ');
                    if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
                        fail("model.merges[" + std::to_string(raw_.merges.size()) + "]",
                             "expected \"left right\" (two tokens separated by one space), got \"" + s + "\"");
                    raw_.merges.push_back({add(std::string_view(s).substr(0, sp)), add(std::string_view(s).substr(sp + 1))});
                } else {
                    if (pair_n_ >= 2) fail(merge_path(), "expected [\"left\", \"right\"] (two strings)");
                    pair_[pair_n_++] = add(s);
                }
                return true;
            }
            default: return bad_value("a string");
        }
    }
    bool start_object(size_t n) {
        if (mode_ != Mode::Dom) return bad_value("an object");
        if (depth_ == 2 && in_model_ && last_key_ == "vocab") {
            mode_ = Mode::Vocab;
            return true;
        }
        ++depth_;
        return dom_.start_object(n);
    }
    bool key(string_t& k) {
        if (mode_ == Mode::Vocab) {
            pending_key_ = add(k);
            return true;
        }
        if (depth_ == 1) in_model_ = k == "model";
        last_key_ = k;
        return dom_.key(k);
    }
    bool end_object() {
        if (mode_ == Mode::Vocab) {
            mode_ = Mode::Dom;
            raw_.has_vocab = true;
            return dom_.null();
        }
        --depth_;
        return dom_.end_object();
    }
    bool start_array(size_t n) {
        if (mode_ == Mode::Merges) {
            if (pair_depth_ > 0) fail(merge_path(), "expected \"left right\" or [\"left\", \"right\"]");
            pair_depth_ = 1;
            pair_n_ = 0;
            return true;
        }
        if (mode_ == Mode::Vocab) return bad_value("an array");
        if (depth_ == 2 && in_model_ && last_key_ == "merges") {
            mode_ = Mode::Merges;
            return true;
        }
        ++depth_;
        return dom_.start_array(n);
    }
    bool end_array() {
        if (mode_ == Mode::Merges) {
            if (pair_depth_ > 0) {
                if (pair_n_ != 2) fail(merge_path(), "expected [\"left\", \"right\"] (two strings)");
                raw_.merges.push_back({pair_[0], pair_[1]});
                pair_depth_ = 0;
                return true;
            }
            mode_ = Mode::Dom;
            raw_.has_merges = true;
            return dom_.null();
        }
        --depth_;
        return dom_.end_array();
    }
    bool parse_error(size_t pos, const std::string& tok, const nlohmann::detail::exception& e) {
        throw Error(src_ + ": malformed JSON at byte " + std::to_string(pos) + " near '" + tok.substr(0, 40) + "' (" +
                    e.what() + "); re-download the file");
    }

private:
    enum class Mode { Dom, Vocab, Merges };

    bool vocab_value(int64_t v) {
        if (mode_ != Mode::Vocab) return bad_value("a number");
        if (v < 0 || v > INT32_MAX)
            fail("model.vocab[\"" + std::string(raw_.str(pending_key_)) + "\"]", "expected a non-negative integer id");
        raw_.vocab.push_back({pending_key_, v});
        return true;
    }
    bool bad_value(const char* what) {
        if (mode_ == Mode::Vocab)
            fail("model.vocab[\"" + std::string(raw_.str(pending_key_)) + "\"]",
                 std::string("expected a non-negative integer id, got ") + what);
        fail(merge_path(), std::string("expected \"left right\" or [\"left\", \"right\"], got ") + what);
    }
    std::string merge_path() const { return "model.merges[" + std::to_string(raw_.merges.size()) + "]"; }
    [[noreturn]] void fail(const std::string& path, const std::string& what) { throw Error(src_ + ": " + path + ": " + what); }
    StrRef add(std::string_view s) {
        StrRef r{uint32_t(raw_.arena.size()), uint32_t(s.size())};
        raw_.arena.append(s);
        return r;
    }

    Mode mode_ = Mode::Dom;
    int depth_ = 0;          // open containers in DOM mode
    bool in_model_ = false;  // the current top-level key is "model"
    std::string last_key_;
    nlohmann::detail::json_sax_dom_parser<json> dom_;
    RawModel& raw_;
    const std::string& src_;
    StrRef pending_key_{0, 0};
    int pair_depth_ = 0, pair_n_ = 0;
    StrRef pair_[2]{};
};

}  // namespace

json parse_tokenizer_json(std::string_view text, const std::string& source, RawModel& raw) {
    json root;
    Handler h(root, raw, source);
    raw.arena.reserve(text.size() / 2);
    json::sax_parse(text.begin(), text.end(), &h);
    return root;
}

}  // namespace janus::tok_detail
