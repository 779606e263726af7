// The `janus` CLI's command registry. Each subcommand lives in its own cmd_<name>.cpp and registers
// itself at static-initialisation time:
//
//   static const bool registered = janus_cli::register_command(
//       "tokenize", "Turn text into token ids and back", [](CLI::App& app) {
//           auto opt = std::make_shared<Options>();
//           app.add_option("--tokenizer", opt->path, "...")->required();
//           return [opt] { return run(*opt); };   // returns the process exit code
//       });
//
// A name with a space ("bench ops") nests under a parent command ("bench"). Global options
// (--threads, --device, --verbose, --quiet) are parsed by main and read through global_options().
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace janus_cli {

using Runner = std::function<int()>;
using Setup = std::function<Runner(CLI::App&)>;

bool register_command(const std::string& name, const std::string& description, Setup setup);

struct GlobalOptions {
    int threads = 0;             // 0 = one per physical core
    std::string device = "auto"; // cpu | cuda | cuda:N | auto
    bool verbose = false;
    bool quiet = false;
};
const GlobalOptions& global_options();

// True when stderr is a terminal (progress bars and colours only then).
bool stderr_is_tty();

}  // namespace janus_cli
