// Restricted pickle reader and in-memory entry points on hand-made byte strings: cycles and deep
// nesting must not recurse or crash, protocol-4 framing (STACK_GLOBAL/MEMOIZE/FRAME) is accepted,
// and Checkpoint::from_memory reads the same tensors as the file path.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "janus/error.h"
#include "kernels/io/checkpoint.h"
#include "kernels/io/torch_pickle.h"

namespace {

using janus::io::ByteView;
using janus::io::parse_torch_pickle;
using namespace std::string_literals;

std::vector<janus::io::PickledTensor> parse(const std::string& bytes) {
    ByteView v{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem.pkl"};
    return parse_torch_pickle(v);
}

std::string err(const std::string& bytes) {
    try {
        parse(bytes);
    } catch (const janus::Error& e) {
        return e.what();
    }
    return "";
}

TEST(Pickle, SelfReferencingDictIsHarmless) {
    // {} memo0; 'a' -> memo0 (the dict itself); SETITEM; STOP
    std::string p = "\x80\x02}q\x00X\x01\x00\x00\x00"s + "ah\x00s."s;
    EXPECT_TRUE(parse(p).empty());
}

TEST(Pickle, DeepNestingDoesNotRecurse) {
    std::string p = "\x80\x02";
    p += ")";
    for (int i = 0; i < 200000; i++) p += "\x85";  // TUPLE1 around the previous tuple
    p += "0}.";                                      // POP it, push an empty dict, STOP
    EXPECT_TRUE(parse(p).empty());
}

TEST(Pickle, Protocol4StackGlobalAndMemoize) {
    // PROTO 4, FRAME, EMPTY_DICT MEMOIZE, 'w', STACK_GLOBAL torch._utils._rebuild_tensor_v2, args...
    std::string p = "\x80\x04\x95";
    p += std::string(8, '\0');
    p += "}\x94";
    p += "\x8c\x01w\x94";
    p += "\x8c\x0ctorch._utils\x8c\x12_rebuild_tensor_v2\x93\x94";
    p += "(";                                                          // args
    p += "(\x8c\x07storage\x8c\x05torch\x8c\x0c" "FloatStorage\x93\x8c\x01" "0\x8c\x03" "cpu" "K\x06t\x94Q";
    p += "K\x00K\x02K\x03\x86K\x03K\x01\x86\x89"s;                      // offset, size, stride, requires_grad
    p += "\x8c\x0b" "collections\x8c\x0bOrderedDict\x93)R";            // backward hooks
    p += "t\x94R\x94s.";
    auto ts = parse(p);
    ASSERT_EQ(ts.size(), 1u);
    EXPECT_EQ(ts[0].name, "w");
    EXPECT_EQ(ts[0].dtype, janus::DType::f32);
    EXPECT_EQ(ts[0].shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(ts[0].strides, (std::vector<int64_t>{3, 1}));
    EXPECT_EQ(ts[0].storage_numel, 6u);
}

TEST(Pickle, RejectsWhatAStateDictNeverContains) {
    EXPECT_NE(err("\x80\x02\x63subprocess\nPopen\n.").find("forbidden global 'subprocess.Popen'"),
              std::string::npos);
    EXPECT_NE(err("\x80\x02\x63torch\nFloatStorage\n)R.").find("calling storage type"), std::string::npos);
    EXPECT_NE(err("\x80\x09}.").find("protocol 9"), std::string::npos);
    EXPECT_NE(err("\x80\x02h\x05.").find("memo key 5"), std::string::npos);
    EXPECT_NE(err("\x80\x02t.").find("no MARK"), std::string::npos);
    EXPECT_NE(err("\x80\x02.").find("stack underflow"), std::string::npos);
    EXPECT_NE(err("\x80\x02]}b.").find("BUILD"), std::string::npos);
    EXPECT_NE(err("\x80\x02}").find("without STOP"), std::string::npos);
    EXPECT_NE(err(std::string("\x80\x02X\xff\xff\xff\x00" "a.", 9)).find("runs past the end"), std::string::npos);
    std::string m = err("\x80\x02\x63os\nsystem\n.");
    EXPECT_EQ(m.rfind("mem.pkl: pickle:", 0), 0u) << m;
}

TEST(Checkpoint, FromMemoryMatchesFile) {
    const std::string path = std::string(JANUS_TEST_DATA) + "/io/torch_views.bin";
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto a = janus::io::Checkpoint::from_memory(bytes.data(), bytes.size(), "views.bin");
    auto b = janus::io::Checkpoint::open(path, janus::io::LoadMode::mmap);
    ASSERT_EQ(a.size(), b.size());
    for (const auto& e : b.entries()) {
        const auto* x = a.find(e.name);
        ASSERT_NE(x, nullptr) << e.name;
        EXPECT_EQ(x->tensor.to_f32_vector(), e.tensor.to_f32_vector()) << e.name;
    }
}

}  // namespace
