// `janus serve` image routes: POST /v1/images/generations (an image job: n images of S×S, S the
// model's native size — 384 for Janus-Pro) answered as b64_json or as url, and GET
// /v1/images/files/<name>.png serving those urls from the server's output directory. The file route
// matches only [A-Za-z0-9_-]{1,64}.png, so no path can leave the output directory.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "janus/generate.h"
#include "pipelines/serve_util.h"

namespace janus::serve {

using nlohmann::json;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw Error(path + ": cannot read the generated image back");
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

void generations(const httplib::Request& req, httplib::Response& res, Context& ctx) {
    json body = parse_body(req);
    ctx.check_model(body);
    if (!ctx.sched->has_images())
        throw ApiError{
            400, "the model '" + ctx.model_id + "' cannot generate images (it is not a Janus checkpoint)",
            "model", "images_not_supported"};
    ImageRequest r;
    auto prompt = opt_string(body, "prompt");
    if (!prompt || prompt->find_first_not_of(" \t\r\n") == std::string::npos)
        throw ApiError{400, "'prompt' is required: the description of the image to generate", "prompt",
                       "invalid_value"};
    r.prompt = *prompt;
    r.n = int(opt_int(body, "n", 1, ctx.opt.max_images_per_request).value_or(1));
    const int s = ctx.sched->image_size();
    const std::string native = std::to_string(s) + "x" + std::to_string(s);
    if (auto size = opt_string(body, "size"); size && *size != native && *size != "auto")
        throw ApiError{400,
                       "size '" + *size + "' is not available: this model generates " + native +
                           " images only (Janus decodes a fixed grid of image tokens); use \"" + native +
                           "\"",
                       "size", "invalid_size"};
    std::string format = opt_string(body, "response_format").value_or("b64_json");
    if (format != "b64_json" && format != "url")
        throw ApiError{400, "'response_format' must be \"b64_json\" or \"url\"", "response_format",
                       "invalid_value"};
    if (auto seed = opt_int(body, "seed", INT64_MIN, INT64_MAX))
        r.seed = uint64_t(*seed);
    else
        r.seed = std::stoull(random_hex(7), nullptr, 16);
    r.cfg = float(opt_number(body, "cfg", 0, 100).value_or(5.0));
    r.temperature = float(opt_number(body, "temperature", 0, 10).value_or(1.0));
    r.top_k = int(opt_int(body, "top_k", 0, 1 << 20).value_or(0));
    r.top_p = float(opt_number(body, "top_p", 1e-6, 1).value_or(1.0));
    if (auto neg = opt_string(body, "negative_prompt"); neg && !neg->empty()) r.negative_prompt = *neg;
    try {
        r.validate();
    } catch (const std::exception& e) {
        // ImageRequest::validate() opens its messages with the field's name ("negative_prompt: ...").
        std::string what = e.what(), param;
        for (const char* f : {"negative_prompt", "prompt", "cfg", "temperature", "top_k", "top_p", "n"})
            if (what.rfind(std::string(f) + ":", 0) == 0 || what.rfind(std::string(f) + " (", 0) == 0) {
                param = f;
                break;
            }
        throw ApiError{400, what, param, "invalid_value"};
    }

    auto job = ctx.new_job(JobKind::image);
    job->image_request = r;
    ctx.submit(job);
    if (!ctx.wait_or_cancel(*job, req))
        throw ApiError{504, "the request took longer than --request-timeout, or the client went away", "",
                       "timeout"};
    std::vector<GeneratedImage> images;
    {
        std::lock_guard<std::mutex> lk(job->mu);
        if (!job->error.empty()) throw ApiError{job->error_status, job->error, job->error_param};
        if (job->finish_reason == "timeout")
            throw ApiError{504, "the request took longer than --request-timeout", "", "timeout"};
        if (job->finish_reason == "cancelled")
            throw ApiError{503, "the request was cancelled (server shutting down)"};
        images = std::move(job->results);
    }
    std::sort(images.begin(), images.end(), [](auto& a, auto& b) { return a.index < b.index; });
    json data = json::array();
    const std::string stem = random_hex(12);
    for (const GeneratedImage& g : images) {
        const std::string name = stem + "-" + std::to_string(g.index) + ".png";
        const std::string path = (std::filesystem::path(ctx.output_dir) / name).string();
        write_png_atomic(path, g.image, image_text_chunks(r, g, ctx.sched->model_name()));
        json item = {{"revised_prompt", r.prompt}, {"seed", g.seed}};
        if (format == "b64_json") {
            item["b64_json"] = base64_encode(read_file(path));
            std::error_code ec;
            std::filesystem::remove(path, ec);
        } else {
            item["url"] = ctx.image_url(name);  // --public-url (never the Host header), signed
        }
        data.push_back(item);
    }
    res.set_content(to_text(json{{"created", unix_now()}, {"data", data}}), "application/json");
}

}  // namespace

void register_image_routes(httplib::Server& svr, Context& ctx) {
    svr.Post("/v1/images/generations", [&ctx](const httplib::Request& req, httplib::Response& res) {
        try {
            generations(req, res, ctx);
        } catch (const ApiError& e) {
            send_error(res, e);
        } catch (const std::exception& e) {
            send_error(res, ApiError{500, std::string("internal error: ") + e.what()});
        }
    });
    svr.Get(R"(/v1/images/files/([A-Za-z0-9_-]{1,64}\.png))", [&ctx](const httplib::Request& req,
                                                                     httplib::Response& res) {
        // With --api-key, the Bearer key (checked before routing) or a valid signature; without, the
        // signature. The signature makes the url usable where no header can be sent (<img src>).
        const std::string name = req.matches[1].str();
        const bool keyed = !ctx.opt.api_key.empty() && !req.has_param("sig");
        if (!keyed) {
            std::string why = ctx.check_image_signature(name, req.get_param_value("expires"),
                                                        req.get_param_value("sig"));
            if (!why.empty()) {
                send_error(res, ApiError{403, why, "sig", "invalid_signature"});
                return;
            }
        }
        const std::string path = (std::filesystem::path(ctx.output_dir) / name).string();
        std::error_code ec;
        if (!std::filesystem::is_regular_file(path, ec)) {
            send_error(res, ApiError{404, "no such image: " + req.matches[1].str(), "", "not_found"});
            return;
        }
        res.set_content(read_file(path), "image/png");
    });
}

}  // namespace janus::serve
