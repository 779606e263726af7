// `janus tokenize`: text → token ids (or token strings), and ids → text, with a model's
// tokenizer.json. Thin front end over janus::Tokenizer / janus::ChatFormat (include/janus/).
//   janus tokenize --tokenizer DIR "Hello"            → 100000 17464 (ids on one line)
//   janus tokenize --tokenizer DIR -f prompt.txt --tokens
//   janus tokenize --tokenizer DIR --decode "100000 17464"
#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "command.h"
#include "janus/chat_format.h"
#include "janus/tokenizer.h"

namespace {

struct Options {
    std::string tokenizer, text, file, decode, chat_format;
    bool tokens = false, no_special = false, skip_special = false, strip_newline = false, chat = false;
    int bench = 0;  // > 0: time loading and `bench` encodes of the input, report MB/s on stderr
};

std::string read_input(const std::string& path) {
    if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
    std::ifstream f(path, std::ios::binary);
    if (!f) throw janus::Error(path + ": cannot open the input file");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_bench(const Options& o) {
    auto t0 = std::chrono::steady_clock::now();
    std::clock_t c0 = std::clock();
    auto tok = janus::Tokenizer::load(o.tokenizer);
    double load_s = seconds_since(t0), load_cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
    std::string text = o.file.empty() ? o.text : read_input(o.file);
    double best = 1e30;
    size_t n = 0;
    for (int r = 0; r < o.bench; ++r) {
        t0 = std::chrono::steady_clock::now();
        n = tok.encode(text, false).size();
        best = std::min(best, seconds_since(t0));
    }
    double mb = double(text.size()) / 1e6;
    std::fprintf(stderr,
                 "janus tokenize: load %.3f s (cpu %.3f s), encode %.2f MB -> %zu tokens in %.3f s = %.2f MB/s (best of %d)\n",
                 load_s, load_cpu, mb, n, best, mb / best, o.bench);
    return 0;
}

int run(const Options& o) {
    if (o.bench > 0) return run_bench(o);
    auto tok = janus::Tokenizer::load(o.tokenizer);
    if (!o.decode.empty()) {
        std::vector<int32_t> ids;
        std::istringstream in(o.decode);
        std::string w;
        while (in >> w) {
            char* end = nullptr;
            long v = std::strtol(w.c_str(), &end, 10);
            if (*end != '\0' || v < 0 || v > INT32_MAX)
                throw janus::Error("--decode: \"" + w + "\" is not a token id; pass ids separated by spaces");
            ids.push_back(int32_t(v));
        }
        std::string text = tok.decode(ids, o.skip_special);
        std::fwrite(text.data(), 1, text.size(), stdout);  // verbatim, no newline added
        return 0;
    }
    std::string text = o.file.empty() ? o.text : read_input(o.file);
    if (o.strip_newline)
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    std::vector<int32_t> ids;
    if (o.chat) {
        auto fmt = o.chat_format.empty() ? janus::ChatFormat::detect(tok) : janus::ChatFormat::by_name(o.chat_format);
        ids = fmt.encode(tok, {{"user", text}}, true);
    } else {
        ids = tok.encode(text, !o.no_special);
    }
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) line.push_back(' ');
        line += o.tokens ? tok.id_to_token(ids[i]) : std::to_string(ids[i]);
    }
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
    return 0;
}

const bool registered = janus_cli::register_command(
    "tokenize", "Turn text into token ids (or token strings) and back with a model's tokenizer.json",
    [](CLI::App& app) {
        auto o = std::make_shared<Options>();
        app.add_option("--tokenizer", o->tokenizer, "Model directory or tokenizer.json file")->required();
        app.add_option("text", o->text, "Text to encode (read verbatim)");
        app.add_option("-f,--file", o->file, "Read the text from FILE ('-' = stdin), verbatim");
        app.add_flag("--tokens", o->tokens, "Print token strings instead of ids");
        app.add_flag("--no-special", o->no_special, "Do not add BOS/EOS or template tokens");
        app.add_option("--decode", o->decode, "Decode these ids (\"ID ID ...\") to text instead");
        app.add_flag("--skip-special", o->skip_special, "With --decode: drop special tokens");
        app.add_flag("--strip-newline", o->strip_newline, "Remove trailing newlines from the input");
        app.add_flag("--chat", o->chat, "Wrap the text as one user turn in the model's chat format");
        app.add_option("--chat-format", o->chat_format,
                       "Chat format for --chat (janus, deepseek, deepseek-r1, deepseek-v3, llama3, chatml, qwen2); "
                       "default: detected from the tokenizer files");
        app.add_option("--bench", o->bench, "Time loading and N encodes of the input (stderr), print no ids");
        return [o] { return run(*o); };
    });

}  // namespace
