// janus::default_model_dir() and friends (include/janus/default_model.h): $JANUS_MODEL wins and is
// checked, otherwise janus-shapes is found next to this test executable (build tree) or in the source
// tree; resolve_model_dir() keeps an explicit -m. No tensors.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "janus/default_model.h"
#include "janus/error.h"

namespace fs = std::filesystem;

namespace {

struct EnvGuard {  // restores $JANUS_MODEL after a test
    std::string old;
    bool had;
    EnvGuard() : had(std::getenv("JANUS_MODEL") != nullptr) {
        if (had) old = std::getenv("JANUS_MODEL");
    }
    ~EnvGuard() {
        if (had) setenv("JANUS_MODEL", old.c_str(), 1);
        else unsetenv("JANUS_MODEL");
    }
};

std::string shapes_dir() { return (fs::path(JANUS_TEST_DATA) / ".." / ".." / "samples" / "models" / "janus-shapes").string(); }

}  // namespace

TEST(DefaultModel, FindsJanusShapesWithoutEnv) {
    EnvGuard g;
    unsetenv("JANUS_MODEL");
    std::string d = janus::default_model_dir();
    EXPECT_TRUE(fs::is_regular_file(fs::path(d) / "config.json")) << d;
    EXPECT_TRUE(fs::equivalent(d, shapes_dir())) << d;
    EXPECT_TRUE(janus::is_default_model(d));
    EXPECT_EQ(janus::resolve_model_dir(""), d);
}

TEST(DefaultModel, EnvOverridesAndIsChecked) {
    EnvGuard g;
    std::string tiny = std::string(JANUS_TEST_DATA) + "/models";
    fs::path some_model;
    for (const auto& e : fs::directory_iterator(tiny))
        if (fs::is_regular_file(e.path() / "config.json")) some_model = e.path();
    ASSERT_FALSE(some_model.empty()) << "no test model under " << tiny;
    setenv("JANUS_MODEL", some_model.c_str(), 1);
    EXPECT_EQ(janus::default_model_dir(), some_model.string());
    EXPECT_FALSE(janus::is_default_model(some_model.string()));
    setenv("JANUS_MODEL", JANUS_TEST_DATA, 1);  // a directory without config.json
    try {
        janus::default_model_dir();
        ADD_FAILURE() << "expected janus::Error";
    } catch (const janus::Error& e) {
        EXPECT_NE(std::string(e.what()).find("JANUS_MODEL"), std::string::npos) << e.what();
    }
}

TEST(DefaultModel, ExplicitModelIsKept) {
    EXPECT_EQ(janus::resolve_model_dir("some/dir"), "some/dir");
    EXPECT_NE(janus::default_model_notice().find("docs/models.md"), std::string::npos);
}
