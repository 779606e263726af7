// `janus` — the command-line front end. Subcommands register themselves (command.h); this file parses
// global options, dispatches, and turns errors into messages and exit codes:
// 0 ok, 1 runtime error (bad file, bad model, ...), 2 bad command line.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <vector>

#include "command.h"
#include "janus/janus.h"

namespace janus_cli {

namespace {
struct Entry {
    std::string name, description;
    Setup setup;
};
std::vector<Entry>& registry() {
    static std::vector<Entry> r;
    return r;
}
GlobalOptions g_options;
}  // namespace

bool register_command(const std::string& name, const std::string& description, Setup setup) {
    registry().push_back({name, description, std::move(setup)});
    return true;
}
const GlobalOptions& global_options() { return g_options; }
bool stderr_is_tty() { return isatty(2) != 0; }

}  // namespace janus_cli

int main(int argc, char** argv) {
    using namespace janus_cli;
    CLI::App app{"janus — Janus-Pro image generation and understanding, and Llama/Qwen-family chat, "
                 "on CPU and NVIDIA GPUs, straight from downloaded checkpoints.\n"
                 "Run 'janus <command> --help' for a command's options."};
    app.name("janus");
    app.set_version_flag("--version", std::string("janus ") + janus::version());
    app.require_subcommand(1);
    app.fallthrough();
    auto& g = const_cast<GlobalOptions&>(global_options());
    app.add_option("-t,--threads", g.threads, "CPU threads (0 = one per physical core)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--device", g.device, "Compute device: auto, cpu, cuda or cuda:N");
    app.add_flag("-v,--verbose", g.verbose, "Print timings and extra detail to stderr");
    app.add_flag("-q,--quiet", g.quiet, "No progress output");

    auto entries = registry();
    std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.name < b.name; });
    std::map<std::string, CLI::App*> parents;
    std::vector<std::pair<CLI::App*, Runner>> runners;
    for (auto& e : entries) {
        CLI::App* parent = &app;
        std::string leaf = e.name;
        if (auto sp = e.name.find(' '); sp != std::string::npos) {
            std::string p = e.name.substr(0, sp);
            leaf = e.name.substr(sp + 1);
            if (!parents.count(p)) {
                parents[p] = app.add_subcommand(p, p == "bench" ? "Benchmarks against the machine's roofline"
                                                                  : p + " commands");
                parents[p]->require_subcommand(1);
                parents[p]->fallthrough();
            }
            parent = parents[p];
        }
        CLI::App* sub = parent->add_subcommand(leaf, e.description);
        sub->fallthrough();
        runners.emplace_back(sub, e.setup(*sub));
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "janus: error: %s\nRun 'janus --help' (or 'janus <command> --help') for usage.\n",
                     e.what());
        return 2;
    }
    try {
        for (auto& [sub, run] : runners)
            if (sub->parsed()) return run();
        std::fprintf(stderr, "janus: error: no command given. Run 'janus --help'.\n");
        return 2;
    } catch (const janus::Error& e) {
        std::fprintf(stderr, "janus: error: %s\n", e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "janus: error: out of memory. Try fewer threads/rows, a smaller batch, "
                             "or 'janus info' to see the memory plan.\n");
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "janus: internal error: %s\n", e.what());
        return 1;
    }
}
