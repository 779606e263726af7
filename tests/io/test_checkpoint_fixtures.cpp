// Checkpoint readers against real torch.save / safetensors fixtures (scripts/reference/
// make_io_fixtures.py -> tests/data/io/). Every good file is read in both load modes and each
// tensor's dtype, shape and values must equal the goldens torch itself read back (tolerance 0: the
// readers must return the stored bits). Every malformed file must raise janus::Error whose message
// names the file and the problem.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "janus/error.h"
#include "kernels/io/checkpoint.h"

namespace {

using janus::DType;
using janus::io::Checkpoint;
using janus::io::LoadMode;

const std::string kData = std::string(JANUS_TEST_DATA) + "/io/";

nlohmann::json golden() {
    std::ifstream in(kData + "golden.json");
    return nlohmann::json::parse(in);
}

double element(const janus::Tensor& t, int64_t i) {
    const void* p = t.data();
    switch (t.dtype()) {
        case DType::f32: return static_cast<const float*>(p)[i];
        case DType::f64: return static_cast<const double*>(p)[i];
        case DType::bf16: return janus::bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
        case DType::f16: return janus::f16_to_f32(static_cast<const uint16_t*>(p)[i]);
        case DType::i64: return double(static_cast<const int64_t*>(p)[i]);
        case DType::i32: return static_cast<const int32_t*>(p)[i];
        case DType::i16: return static_cast<const int16_t*>(p)[i];
        case DType::i8: return static_cast<const int8_t*>(p)[i];
        case DType::u8: return static_cast<const uint8_t*>(p)[i];
        case DType::boolean: return static_cast<const uint8_t*>(p)[i];
        default: ADD_FAILURE() << "unexpected dtype"; return 0;
    }
}

void check_against_golden(const Checkpoint& ck, const nlohmann::json& want, const std::string& what) {
    ASSERT_EQ(ck.size(), want.size()) << what;
    for (auto it = want.begin(); it != want.end(); ++it) {
        SCOPED_TRACE(what + " / " + it.key());
        const janus::io::TensorEntry* e = ck.find(it.key());
        ASSERT_NE(e, nullptr);
        const auto& g = it.value();
        EXPECT_EQ(janus::dtype_name(e->dtype), g["dtype"].get<std::string>());
        EXPECT_EQ(e->shape.vec(), g["shape"].get<std::vector<int64_t>>());
        const janus::Tensor& t = e->tensor;
        ASSERT_EQ(t.numel(), int64_t(g["values"].size()));
        EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % janus::dtype_size(t.dtype()), 0u) << "misaligned";
        for (int64_t i = 0; i < t.numel(); i++) {
            double v = g["values"][size_t(i)].get<double>();
            ASSERT_EQ(element(t, i), v) << "element " << i;
        }
    }
}

class GoodFixtures : public ::testing::TestWithParam<LoadMode> {};

TEST_P(GoodFixtures, MatchTorchGoldens) {
    nlohmann::json g = golden();
    ASSERT_GE(g.size(), 10u);
    for (auto it = g.begin(); it != g.end(); ++it) {
        Checkpoint ck = Checkpoint::open(kData + it.key(), GetParam());
        check_against_golden(ck, it.value(), it.key());
    }
}

INSTANTIATE_TEST_SUITE_P(BothModes, GoodFixtures, ::testing::Values(LoadMode::mmap, LoadMode::read),
                         [](const auto& info) { return std::string(janus::io::load_mode_name(info.param)); });

TEST(Checkpoint, ZeroCopyForContiguousAndCopiesOnlyViews) {
    Checkpoint ck = Checkpoint::open(kData + "torch_views.bin", LoadMode::mmap);
    EXPECT_EQ(ck.format(), janus::io::CheckpointFormat::torch_zip);
    // 'slice' is base[10:20] of the same storage as 'full': both point into the file, 40 bytes apart.
    const auto* full = ck.find("full");
    const auto* slice = ck.find("slice");
    ASSERT_TRUE(full && slice);
    EXPECT_FALSE(full->copied);
    EXPECT_FALSE(slice->copied);
    EXPECT_EQ(static_cast<const char*>(slice->tensor.data()) - static_cast<const char*>(full->tensor.data()), 40);
    EXPECT_EQ(slice->offset - full->offset, 40u);
    EXPECT_EQ(full->offset % 64, 0u) << "torch aligns storages to 64 bytes";
    EXPECT_TRUE(ck.find("transposed")->copied);
    EXPECT_TRUE(ck.find("stepped")->copied);
    EXPECT_TRUE(ck.find("w_col1")->copied);
    EXPECT_FALSE(ck.find("w_row2")->copied);
}

TEST(Checkpoint, TensorsOutliveTheCheckpoint) {
    janus::Tensor t;
    {
        Checkpoint ck = Checkpoint::open(kData + "st_dtypes.safetensors", LoadMode::mmap);
        t = ck.tensor("f32");
    }
    nlohmann::json g = golden()["st_dtypes.safetensors"]["f32"]["values"];
    EXPECT_EQ(t.to_f32_vector()[5], float(g[5].get<double>()));
}

TEST(Checkpoint, DirectoryAndIndexResolution) {
    Checkpoint a = Checkpoint::open(kData + "sharded_bin", LoadMode::mmap);
    EXPECT_EQ(a.files().size(), 2u);
    EXPECT_EQ(a.format(), janus::io::CheckpointFormat::torch_zip);
    Checkpoint b = Checkpoint::open(kData + "sharded_st/model.safetensors.index.json", LoadMode::read);
    EXPECT_EQ(b.files().size(), 2u);
    EXPECT_EQ(b.format(), janus::io::CheckpointFormat::safetensors);
    EXPECT_EQ(a.size(), 3u);
    EXPECT_EQ(b.size(), 3u);
    EXPECT_TRUE(b.contains("b.weight"));
    try {
        (void)b.tensor("nope");
        FAIL() << "expected an error";
    } catch (const janus::Error& e) {
        EXPECT_NE(std::string(e.what()).find("'nope' not found"), std::string::npos) << e.what();
    }
}

TEST(Checkpoint, AutomaticModeReadsSmallFilesIntoMemory) {
    Checkpoint ck = Checkpoint::open(kData + "sharded_st", LoadMode::automatic);
    EXPECT_EQ(ck.mode(), LoadMode::read);
    EXPECT_EQ(janus::io::resolve_load_mode(LoadMode::automatic, uint64_t(1) << 60), LoadMode::mmap);
    EXPECT_EQ(janus::io::resolve_load_mode(LoadMode::mmap, 1), LoadMode::mmap);
    EXPECT_EQ(janus::io::load_mode_from_name("auto"), LoadMode::automatic);
    EXPECT_THROW(janus::io::load_mode_from_name("fast"), janus::Error);
}

TEST(Checkpoint, MisalignedSafetensorsDataIsCopied) {
    Checkpoint ck = Checkpoint::open(kData + "st_misaligned.safetensors", LoadMode::mmap);
    EXPECT_TRUE(ck.find("f32")->copied);
    EXPECT_FALSE(ck.find("u8")->copied);
}

struct BadCase {
    const char* file;
    const char* expect;  // substring of the message (besides the file name)
};

class BadFixtures : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadFixtures, GiveErrorNamingTheFile) {
    const BadCase& c = GetParam();
    const std::string path = kData + "bad/" + c.file;
    for (LoadMode mode : {LoadMode::mmap, LoadMode::read}) {
        try {
            Checkpoint ck = Checkpoint::open(path, mode);
            ADD_FAILURE() << c.file << ": no error (" << ck.size() << " tensors)";
        } catch (const janus::Error& e) {
            std::string msg = e.what();
            std::string base = std::filesystem::path(c.file).filename().string();
            EXPECT_NE(msg.find(base), std::string::npos) << "message does not name the file: " << msg;
            EXPECT_NE(msg.find(c.expect), std::string::npos) << "expected '" << c.expect << "' in: " << msg;
        }
    }
}

const BadCase kBad[] = {
    {"st_truncated.safetensors", "beyond the end of the data"},
    {"st_tiny.safetensors", "too small"},
    {"st_header_beyond_file.safetensors", "header length"},
    {"st_bad_json.safetensors", "not valid JSON"},
    {"st_overlap.safetensors", "overlap"},
    {"st_out_of_range.safetensors", "beyond the end"},
    {"st_bad_dtype.safetensors", "dtype 'Q7' is not supported"},
    {"st_shape_mismatch.safetensors", "needs 36 bytes"},
    {"st_negative_dim.safetensors", "non-negative"},
    {"st_missing_offsets.safetensors", "data_offsets"},
    {"st_offsets_reversed.safetensors", "end before begin"},
    {"bin_truncated.bin", "end-of-central-directory"},
    {"bin_cut_directory.bin", "central directory"},
    {"bin_compressed.bin", "compressed"},
    {"bin_big_endian.bin", "little-endian"},
    {"bin_no_pickle.bin", "data.pkl"},
    {"bin_not_a_dict.bin", "not a dict"},
    {"bin_unknown_opcode.bin", "unknown pickle opcode 0xff"},
    {"bin_forbidden_os_system.bin", "forbidden global 'os.system'"},
    {"bin_forbidden_eval.bin", "forbidden global 'builtins.eval'"},
    {"bin_forbidden_pickled.bin", "forbidden global 'posix.system'"},
    {"bin_newobj.bin", "NEWOBJ"},
    {"bin_truncated_pickle.bin", "truncated"},
    {"bin_missing_storage.bin", "'archive/data/7' is missing"},
    {"bin_view_out_of_range.bin", "tensor 'x': view (offset 2, shape 2-d) reaches element 5"},
    {"bin_storage_too_small.bin", "should hold 16 elements"},
    {"bin_rank_mismatch.bin", "different ranks"},
    {"bin_expanded_view.bin", "larger than its storage"},
    {"sharded_missing_shard", "pytorch_model-00002-of-00002.bin' (holding 1 tensors"},
    {"sharded_missing_tensor", "'c.weight' is listed in the index"},
};

INSTANTIATE_TEST_SUITE_P(All, BadFixtures, ::testing::ValuesIn(kBad), [](const auto& info) {
    std::string n = info.param.file;
    for (char& ch : n)
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return n;
});

TEST(BadFixtures, EveryBadFileIsCovered) {
    size_t n = 0;
    for (const auto& de : std::filesystem::directory_iterator(kData + "bad")) {
        (void)de;
        n++;
    }
    EXPECT_EQ(n, std::size(kBad)) << "a fixture in tests/data/io/bad has no test case";
}

}  // namespace
