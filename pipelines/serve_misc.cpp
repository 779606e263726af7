// `janus serve` small routes: GET /health (status + scheduler counters), GET /v1/models,
// GET /v1/models/<id>, POST /tokenize {"content", "add_special"} → {"tokens"}, POST /detokenize
// {"tokens"} → {"content"}.
#include "janus/tokenizer.h"
#include "pipelines/serve_util.h"

namespace janus::serve {

using nlohmann::json;

namespace {

json model_object(const Context& ctx) {
    return {{"id", ctx.model_id}, {"object", "model"}, {"created", ctx.created}, {"owned_by", "janus.cpp"}};
}

template <class Fn>
auto guarded(Fn fn) {
    return [fn](const httplib::Request& req, httplib::Response& res) {
        try {
            fn(req, res);
        } catch (const ApiError& e) {
            send_error(res, e);
        } catch (const std::exception& e) {
            send_error(res, ApiError{500, std::string("internal error: ") + e.what()});
        }
    };
}

}  // namespace

void register_misc_routes(httplib::Server& svr, Context& ctx) {
    svr.Get("/health", guarded([&ctx](const httplib::Request&, httplib::Response& res) {
                SchedulerStats s = ctx.sched->stats();
                bool draining = ctx.draining->load();
                json j = {{"status", draining ? "shutting_down" : "ok"},
                          {"model", ctx.model_id},
                          {"running", s.running},
                          {"queued", s.queued},
                          {"completed", s.completed},
                          {"cancelled", s.cancelled},
                          {"steps", s.steps},
                          {"text_steps", s.text_steps},
                          {"image_steps", s.image_steps},
                          {"mixed_steps", s.mixed_steps},
                          {"vision_text_steps", s.vision_text_steps},
                          {"vision_jobs", s.vision_jobs},
                          {"max_text_rows_in_step", s.max_text_rows_in_step},
                          {"max_vision_rows_in_step", s.max_vision_rows_in_step},
                          {"max_images_in_step", s.max_images_in_step},
                          {"max_rows_in_step", s.max_rows_in_step},
                          {"vision", ctx.sched->has_vision()},
                          {"images", ctx.sched->has_images()},
                          {"image_size", ctx.sched->image_size()},
                          {"context", ctx.sched->context()}};
                res.status = draining ? 503 : 200;
                res.set_content(to_text(j), "application/json");
            }));
    svr.Get("/v1/models", guarded([&ctx](const httplib::Request&, httplib::Response& res) {
                res.set_content(to_text(json{{"object", "list"}, {"data", json::array({model_object(ctx)})}}),
                                "application/json");
            }));
    svr.Get(R"(/v1/models/(.+))", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
                json probe = {{"model", req.matches[1].str()}};
                ctx.check_model(probe);
                res.set_content(to_text(model_object(ctx)), "application/json");
            }));
    svr.Post("/tokenize", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
                 json body = parse_body(req);
                 auto content = opt_string(body, "content");
                 if (!content) content = opt_string(body, "prompt");
                 if (!content) throw ApiError{400, "'content' (the text to tokenize) is required", "content"};
                 bool special = opt_bool(body, "add_special").value_or(true);
                 auto ids = ctx.sched->tokenizer().encode(*content, special);
                 res.set_content(to_text(json{{"tokens", ids}, {"count", ids.size()}}), "application/json");
             }));
    svr.Post(
        "/detokenize", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
            json body = parse_body(req);
            auto t = body.find("tokens");
            if (t == body.end() || !t->is_array())
                throw ApiError{400, "'tokens' must be an array of token ids", "tokens", "invalid_type"};
            const Tokenizer& tok = ctx.sched->tokenizer();
            std::vector<int32_t> ids;
            for (size_t i = 0; i < t->size(); ++i) {
                const json& v = (*t)[i];
                if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= tok.vocab_size())
                    throw ApiError{400,
                                   "tokens[" + std::to_string(i) + "] must be an id in 0.." +
                                       std::to_string(tok.vocab_size() - 1),
                                   "tokens", "invalid_value"};
                ids.push_back(int32_t(v.get<int64_t>()));
            }
            bool skip = opt_bool(body, "skip_special").value_or(false);
            res.set_content(to_text(json{{"content", tok.decode(ids, skip)}}), "application/json");
        }));
}

}  // namespace janus::serve
