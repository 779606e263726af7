// `janus chat -m MODEL [-p MESSAGE] [--image PATH]...`: interactive multi-turn chat with token
// streaming, or a one-shot reply with -p (only the reply text on stdout). --image (Janus checkpoints)
// attaches images to the first user message. Commands in interactive mode: /image PATH, /reset,
// /save FILE, /load FILE, /help, /exit. Ctrl-C stops the current reply; at the prompt it ends the session.
// R1-style <think>…</think> reasoning is shown dim (or bracketed when not a terminal), or hidden with
// --hide-thinking. All logic lives in the library (include/janus/chat.h).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "janus/chat.h"
#include "janus/default_model.h"

namespace {

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted = true; }

struct Options {
    janus::ChatOptions chat;
    std::string prompt;
    bool prompt_given = false;
    bool hide_thinking = false;
    std::string system;
    std::vector<std::string> images;
    uint64_t seed = 0;
};

// Writes reply pieces: answer text to `out`, thinking dim/bracketed to `think_out` (or nowhere).
class Printer {
public:
    Printer(FILE* out, FILE* think_out, bool starts_thinking)
        : out_(out), think_out_(think_out), split_(starts_thinking) {}
    void piece(const std::string& s) { write(split_.push(s)); }
    void finish() {
        write(split_.finish());
        if (in_think_) close_think();
        std::fflush(out_);
    }

private:
    void write(const std::vector<janus::ThinkSplitter::Segment>& segs) {
        for (auto& seg : segs) {
            if (seg.thinking) {
                if (!think_out_) continue;
                if (!in_think_) open_think();
                std::fputs(seg.text.c_str(), think_out_);
                std::fflush(think_out_);
            } else {
                if (in_think_) close_think();
                std::fputs(seg.text.c_str(), out_);
                std::fflush(out_);
            }
        }
    }
    void open_think() {
        in_think_ = true;
        std::fputs(isatty(fileno(think_out_)) ? "\033[2m" : "<think>", think_out_);
    }
    void close_think() {
        in_think_ = false;
        std::fputs(isatty(fileno(think_out_)) ? "\033[0m" : "</think>", think_out_);
        std::fflush(think_out_);
    }
    FILE* out_;
    FILE* think_out_;
    janus::ThinkSplitter split_;
    bool in_think_ = false;
};

void print_stats(const janus::ReplyStats& s) {
    if (s.images > 0)
        std::fprintf(stderr, "[%d image(s), %lld image positions; vision %.1f ms]\n", s.images,
                     (long long)s.image_tokens, s.vision_seconds * 1e3);
    std::fprintf(stderr, "[%lld prompt tokens (%lld cached) at %.1f tok/s, %lld generated at %.2f tok/s, %s]\n",
                 (long long)s.prompt_tokens, (long long)s.cached_tokens, s.prefill_tok_s(),
                 (long long)s.generated_tokens, s.decode_tok_s(), s.finish_reason.c_str());
}

const char* kHelp =
    "Commands:\n"
    "  /image PATH   attach an image to the next message (Janus checkpoints)\n"
    "  /reset        forget the conversation and attached images\n"
    "  /save FILE    write the conversation as JSON\n"
    "  /load FILE    read a conversation written by /save\n"
    "  /help         this list\n"
    "  /exit         leave (also Ctrl-D; Ctrl-C at the prompt)\n"
    "Ctrl-C while the model is answering stops the answer. End a line with \\ to continue it.\n";

int run(Options& opt) {
    const auto& g = janus_cli::global_options();
    opt.chat.threads = g.threads;
    opt.chat.device = g.device;
    opt.chat.sampling.seed = opt.seed;
    opt.chat.model = janus::resolve_model_dir(opt.chat.model);  // no -m: janus-shapes (include/janus/default_model.h)
    if (janus::is_default_model(opt.chat.model)) std::fprintf(stderr, "%s\n", janus::default_model_notice().c_str());
    auto chat = janus::ChatSession::open(opt.chat);
    if (g.verbose) std::fprintf(stderr, "janus chat: %s\n", chat->description().c_str());
    for (const auto& path : opt.images) chat->attach_image(path);

    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a Ctrl-C at the prompt interrupts the read
    sigaction(SIGINT, &sa, nullptr);
    auto stop = [] { return g_interrupted.load(); };

    if (opt.prompt_given) {
        Printer p(stdout, opt.hide_thinking ? nullptr : stderr, chat->reply_starts_thinking());
        janus::ReplyStats st;
        chat->send(opt.prompt, [&](const std::string& s) { p.piece(s); }, stop, &st);
        p.finish();
        std::fputc('\n', stdout);
        if (g.verbose) print_stats(st);
        return 0;
    }

    const bool tty = isatty(0) != 0;
    if (tty && !g.quiet) std::fprintf(stderr, "janus chat — %s\nType /help for commands.\n", chat->format_name().c_str());
    std::string line;
    for (;;) {
        if (tty) std::fputs("\n> ", stderr);
        g_interrupted = false;
        std::string message;
        bool got = false;
        while (std::getline(std::cin, line)) {
            got = true;
            if (!line.empty() && line.back() == '\\') {
                message += line.substr(0, line.size() - 1) + "\n";
                if (tty) std::fputs(". ", stderr);
                continue;
            }
            message += line;
            break;
        }
        if (!got) {
            if (tty) std::fputc('\n', stderr);
            return 0;  // EOF or Ctrl-C at the prompt
        }
        if (message.empty()) continue;
        if (message[0] == '/') {
            std::string cmd = message.substr(0, message.find(' '));
            std::string arg = message.find(' ') == std::string::npos ? "" : message.substr(message.find(' ') + 1);
            try {
                if (cmd == "/exit" || cmd == "/quit") return 0;
                if (cmd == "/help") std::fputs(kHelp, stderr);
                else if (cmd == "/image" && !arg.empty()) {
                    chat->attach_image(arg);
                    std::fprintf(stderr, "(%zu image(s) attached to the next message)\n", chat->pending_images());
                } else if (cmd == "/reset") {
                    chat->reset();
                    std::fputs("(conversation cleared)\n", stderr);
                } else if (cmd == "/save" && !arg.empty()) {
                    chat->save(arg);
                    std::fprintf(stderr, "(saved %zu messages to %s)\n", chat->messages().size(), arg.c_str());
                } else if (cmd == "/load" && !arg.empty()) {
                    chat->load(arg);
                    std::fprintf(stderr, "(loaded %zu messages from %s)\n", chat->messages().size(), arg.c_str());
                } else {
                    std::fprintf(stderr, "unknown command '%s'\n%s", message.c_str(), kHelp);
                }
            } catch (const janus::Error& e) {
                std::fprintf(stderr, "janus: error: %s\n", e.what());
            }
            continue;
        }
        Printer p(stdout, opt.hide_thinking ? nullptr : stdout, chat->reply_starts_thinking());
        janus::ReplyStats st;
        try {
            chat->send(message, [&](const std::string& s) { p.piece(s); }, stop, &st);
        } catch (const janus::Error& e) {
            std::fprintf(stderr, "janus: error: %s\n", e.what());
            continue;
        }
        p.finish();
        std::fputc('\n', stdout);
        std::fflush(stdout);
        if (g_interrupted) std::fputs("(stopped)\n", stderr);
        if (st.finish_reason == "context")
            std::fputs("(the context is full: /reset, or restart with a larger --ctx)\n", stderr);
        if (g.verbose) print_stats(st);
    }
}

}  // namespace

static const bool registered = janus_cli::register_command(
    "chat", "Chat with Janus-Pro (text and images) or a Llama/Qwen2-family model (streaming)",
    [](CLI::App& app) {
        auto opt = std::make_shared<Options>();
        auto& c = opt->chat;
        app.add_option("-m,--model", c.model, "Model directory (config.json, weights, tokenizer.json; default: janus-shapes, shapes only)");
        app.add_option("-p,--prompt", opt->prompt, "One-shot: send this message, print only the reply, exit");
        app.add_option("--system", opt->system, "System prompt (default: the chat format's own; \"\" for none)");
        app.add_option("--image", opt->images, "Attach an image to the first message (repeatable; Janus checkpoints)");
        app.add_flag("--hide-thinking", opt->hide_thinking, "Do not show <think>…</think> reasoning");
        app.add_option("--temperature", c.sampling.temperature, "Sampling temperature (0 = greedy)")
            ->check(CLI::NonNegativeNumber);
        app.add_option("--top-k", c.sampling.top_k, "Keep the k most likely tokens (0 = off)")->check(CLI::NonNegativeNumber);
        app.add_option("--top-p", c.sampling.top_p, "Nucleus sampling mass (1 = off)")->check(CLI::Range(0.0, 1.0));
        app.add_option("--min-p", c.sampling.min_p, "Drop tokens below min-p × the top probability (0 = off)")
            ->check(CLI::Range(0.0, 1.0));
        app.add_option("--repeat-penalty", c.sampling.repetition_penalty, "Repetition penalty (1 = off)")
            ->check(CLI::PositiveNumber);
        app.add_option("--presence-penalty", c.sampling.presence_penalty, "Presence penalty (0 = off)");
        app.add_option("--frequency-penalty", c.sampling.frequency_penalty, "Frequency penalty (0 = off)");
        app.add_option("--seed", opt->seed, "Random seed (same seed → same reply)");
        app.add_option("-n,--max-tokens", c.max_tokens, "Most tokens per reply")->check(CLI::PositiveNumber);
        app.add_option("--ctx", c.ctx, "Context length in tokens (0 = min(4096, model maximum))")
            ->check(CLI::NonNegativeNumber);
        app.add_option("--chat-format", c.chat_format,
                       "Override the chat format: janus, deepseek, deepseek-r1, deepseek-v3, llama3, chatml, qwen2");
        app.add_option("--dtype", c.dtype, "Compute precision: auto (bf16 for bf16 weights), f32, bf16")
            ->check(CLI::IsMember({"auto", "f32", "bf16"}));
        app.add_flag("--rope-exact", c.rope_exact, "bf16: exact f32 RoPE frequencies instead of bf16-rounded");
        app.add_option("--stop", c.stop_strings, "Stop the reply at this string (repeatable)");
        auto* sys = app.get_option("--system");
        return [opt, sys] {
            opt->prompt_given = !opt->prompt.empty();
            if (sys->count() > 0) opt->chat.system = opt->system;
            return run(*opt);
        };
    });
