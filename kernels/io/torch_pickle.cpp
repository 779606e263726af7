// Restricted pickle interpreter for torch state dicts (see torch_pickle.h). Values live in an
// arena indexed by int32 so shared references (memo) and even cycles cannot cause recursive
// destruction or unbounded memory; every opcode creates at most one node.
#include "kernels/io/torch_pickle.h"

#include <cstring>
#include <unordered_map>

namespace janus::io {

namespace {

enum class Kind : uint8_t { none, boolean, integer, real, str, tuple, list, dict, global, storage, tensor };
enum class Global : uint8_t { ordered_dict, rebuild_tensor_v2, rebuild_parameter, rebuild_parameter_state, storage_type };

struct Node {
    Kind kind = Kind::none;
    int64_t i = 0;
    std::string s;               // str value; storage key
    std::vector<int32_t> items;  // tuple/list items; dict: key, value, key, value, ...
    Global g = Global::ordered_dict;
    DType dtype = DType::f32;    // storage_type global, storage, tensor
    PickledTensor t;             // tensor (name unset)
};

const char* opcode_name(uint8_t op) {
    switch (op) {
        case 'i': return "INST";
        case 'o': return "OBJ";
        case 0x81: return "NEWOBJ";
        case 0x92: return "NEWOBJ_EX";
        case 'P': return "PERSID";
        case 'I': return "INT";
        case 'L': return "LONG";
        case 'F': return "FLOAT";
        case 'S': return "STRING";
        case 'V': return "UNICODE";
        case 'p': return "PUT";
        case 'g': return "GET";
        case 'd': return "DICT";
        case 'l': return "LIST";
        case 0x82: case 0x83: case 0x84: return "EXT";
        case 0x8b: return "LONG4";
        case 0x90: return "EMPTY_SET";
        case 0x91: return "FROZENSET";
        case 0x96: return "BYTEARRAY8";
        case 0x97: return "NEXT_BUFFER";
        case 0x98: return "READONLY_BUFFER";
        default: return nullptr;
    }
}

bool storage_dtype(const std::string& name, DType* out) {
    static const std::pair<const char*, DType> table[] = {
        {"FloatStorage", DType::f32}, {"DoubleStorage", DType::f64}, {"HalfStorage", DType::f16},
        {"BFloat16Storage", DType::bf16}, {"LongStorage", DType::i64}, {"IntStorage", DType::i32},
        {"ShortStorage", DType::i16}, {"CharStorage", DType::i8}, {"ByteStorage", DType::u8},
        {"BoolStorage", DType::boolean}};
    for (auto& [n, t] : table)
        if (name == n) {
            *out = t;
            return true;
        }
    return false;
}

class Interpreter {
public:
    explicit Interpreter(const ByteView& v) : v_(v) {}

    std::vector<PickledTensor> run() {
        nodes_.reserve(64);
        int32_t result = -1;
        while (result < 0) {
            if (pos_ >= v_.size) fail("ended without STOP — the file is truncated");
            op_at_ = pos_;
            uint8_t op = v_.data[pos_++];
            step(op, &result);
        }
        if (nodes_[size_t(result)].kind != Kind::dict)
            fail("the top-level object is not a dict — this is not a state dict (save model.state_dict())");
        std::vector<PickledTensor> out;
        std::vector<bool> seen(nodes_.size(), false);
        collect(result, "", 0, seen, &out);
        return out;
    }

private:
    const ByteView& v_;
    uint64_t pos_ = 0, op_at_ = 0;
    std::vector<Node> nodes_;
    std::vector<int32_t> stack_;
    std::vector<size_t> marks_;
    std::unordered_map<uint64_t, int32_t> memo_;

    [[noreturn]] void fail(const std::string& why) const {
        throw file_error(v_.name, "pickle: " + why + " (at byte " + std::to_string(op_at_) + ")");
    }
    const uint8_t* take(uint64_t n) {
        if (!v_.contains(pos_, n)) fail("truncated in the middle of an opcode");
        const uint8_t* p = v_.data + pos_;
        pos_ += n;
        return p;
    }
    template <class T> T take_le() {
        T x;
        std::memcpy(&x, take(sizeof(T)), sizeof(T));
        return x;
    }
    int32_t add(Node n) {
        if (nodes_.size() >= size_t(INT32_MAX)) fail("too many objects");
        nodes_.push_back(std::move(n));
        return int32_t(nodes_.size() - 1);
    }
    int32_t add_kind(Kind k, int64_t i = 0) {
        Node n;
        n.kind = k;
        n.i = i;
        return add(std::move(n));
    }
    void push(int32_t id) {
        if (stack_.size() > (size_t(1) << 20)) fail("stack too deep");
        stack_.push_back(id);
    }
    int32_t pop() {
        if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("stack underflow");
        int32_t id = stack_.back();
        stack_.pop_back();
        return id;
    }
    int32_t top() {
        if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("stack underflow");
        return stack_.back();
    }
    std::vector<int32_t> pop_mark() {
        if (marks_.empty()) fail("no MARK to pop to");
        size_t m = marks_.back();
        marks_.pop_back();
        std::vector<int32_t> items(stack_.begin() + long(m), stack_.end());
        stack_.resize(m);
        return items;
    }
    void push_str(uint64_t len) {
        if (!v_.contains(pos_, len)) fail("string of " + std::to_string(len) + " bytes runs past the end");
        Node n;
        n.kind = Kind::str;
        n.s.assign(reinterpret_cast<const char*>(take(len)), size_t(len));
        push(add(std::move(n)));
    }
    std::string read_line() {
        uint64_t start = pos_;
        while (pos_ < v_.size && v_.data[pos_] != '\n') {
            if (pos_ - start > 256) fail("GLOBAL name too long");
            pos_++;
        }
        if (pos_ >= v_.size) fail("truncated GLOBAL");
        std::string s(reinterpret_cast<const char*>(v_.data + start), size_t(pos_ - start));
        pos_++;
        return s;
    }
    void push_global(const std::string& module, const std::string& name) {
        Node n;
        n.kind = Kind::global;
        n.s = module + "." + name;
        if (module == "collections" && name == "OrderedDict") n.g = Global::ordered_dict;
        else if (module == "torch._utils" && name == "_rebuild_tensor_v2") n.g = Global::rebuild_tensor_v2;
        else if (module == "torch._utils" && name == "_rebuild_parameter") n.g = Global::rebuild_parameter;
        else if (module == "torch._utils" && name == "_rebuild_parameter_with_state") n.g = Global::rebuild_parameter_state;
        else if (module == "torch" && storage_dtype(name, &n.dtype)) n.g = Global::storage_type;
        else
            fail("forbidden global '" + n.s + "' — a state dict only needs collections.OrderedDict, "
                 "torch._utils._rebuild_tensor_v2/_rebuild_parameter and torch.*Storage; this file may "
                 "run code when loaded by torch, do not trust it");
        push(add(std::move(n)));
    }
    Node& at(int32_t id) { return nodes_[size_t(id)]; }
    int64_t as_int(int32_t id, const char* what) {
        if (at(id).kind != Kind::integer && at(id).kind != Kind::boolean) fail(std::string(what) + " is not an integer");
        return at(id).i;
    }
    std::vector<int64_t> int_tuple(int32_t id, const char* what) {
        if (at(id).kind != Kind::tuple) fail(std::string(what) + " is not a tuple");
        std::vector<int64_t> out;
        for (int32_t x : at(id).items) out.push_back(as_int(x, what));
        return out;
    }

    void reduce() {
        int32_t args = pop(), fn = pop();
        if (at(fn).kind != Kind::global) fail("REDUCE of something that is not an allowed global");
        if (at(args).kind != Kind::tuple) fail("REDUCE arguments are not a tuple");
        std::vector<int32_t> a = at(args).items;
        switch (at(fn).g) {
            case Global::ordered_dict:
                if (!a.empty()) fail("OrderedDict(...) with arguments is not supported");
                push(add_kind(Kind::dict));
                return;
            case Global::rebuild_tensor_v2: {
                if (a.size() < 6 || a.size() > 7) fail("_rebuild_tensor_v2 expects 6 or 7 arguments");
                if (at(a[0]).kind != Kind::storage) fail("_rebuild_tensor_v2: first argument is not a storage");
                Node n;
                n.kind = Kind::tensor;
                n.t.dtype = at(a[0]).dtype;
                n.t.storage_key = at(a[0]).s;
                n.t.storage_numel = uint64_t(at(a[0]).i);
                n.t.storage_offset = as_int(a[1], "storage offset");
                n.t.shape = int_tuple(a[2], "tensor size");
                n.t.strides = int_tuple(a[3], "tensor stride");
                if (n.t.shape.size() != n.t.strides.size()) fail("tensor size and stride have different ranks");
                if (n.t.shape.size() > 6) fail("tensor rank " + std::to_string(n.t.shape.size()) + " is above 6");
                push(add(std::move(n)));
                return;
            }
            case Global::rebuild_parameter:
            case Global::rebuild_parameter_state:
                if (a.empty() || at(a[0]).kind != Kind::tensor) fail("_rebuild_parameter: first argument is not a tensor");
                push(a[0]);
                return;
            case Global::storage_type:
                fail("calling storage type '" + at(fn).s + "' is not allowed");
        }
    }

    void persid() {
        int32_t pid = pop();
        const Node& t = at(pid);
        if (t.kind != Kind::tuple || t.items.size() != 5 || at(t.items[0]).kind != Kind::str ||
            at(t.items[0]).s != "storage")
            fail("persistent id is not a ('storage', type, key, location, numel) tuple");
        const Node& ty = at(t.items[1]);
        if (ty.kind != Kind::global || ty.g != Global::storage_type) fail("persistent id storage type is not a torch.*Storage");
        if (at(t.items[2]).kind != Kind::str) fail("persistent id storage key is not a string");
        Node n;
        n.kind = Kind::storage;
        n.dtype = ty.dtype;
        n.s = at(t.items[2]).s;
        int64_t numel = as_int(t.items[4], "storage size");
        if (numel < 0) fail("negative storage size");
        n.i = numel;
        push(add(std::move(n)));
    }

    void set_items(int32_t dict, const std::vector<int32_t>& kv) {
        if (at(dict).kind != Kind::dict) fail("SETITEM(S) on something that is not a dict");
        if (kv.size() % 2) fail("SETITEMS with an odd number of items");
        for (size_t k = 0; k < kv.size(); k += 2) {
            Kind kk = at(kv[k]).kind;
            if (kk != Kind::str && kk != Kind::integer) fail("dict key is not a string or integer");
            at(dict).items.push_back(kv[k]);
            at(dict).items.push_back(kv[k + 1]);
        }
    }

    void step(uint8_t op, int32_t* result) {
        switch (op) {
            case 0x80: {  // PROTO
                uint8_t p = take_le<uint8_t>();
                if (p < 2 || p > 5) fail("pickle protocol " + std::to_string(p) + " is not supported (2-5 are)");
                return;
            }
            case 0x95: take(8); return;  // FRAME (length hint only)
            case '}': push(add_kind(Kind::dict)); return;
            case ']': push(add_kind(Kind::list)); return;
            case ')': push(add_kind(Kind::tuple)); return;
            case '(':
                if (marks_.size() > 4096) fail("too many nested MARKs");
                marks_.push_back(stack_.size());
                return;
            case '.':
                *result = pop();
                return;
            case 'X': push_str(take_le<uint32_t>()); return;        // BINUNICODE
            case 0x8c: push_str(take_le<uint8_t>()); return;       // SHORT_BINUNICODE
            case 0x8d: push_str(take_le<uint64_t>()); return;      // BINUNICODE8
            case 'U': push_str(take_le<uint8_t>()); return;        // SHORT_BINSTRING
            case 'C': push_str(take_le<uint8_t>()); return;        // SHORT_BINBYTES
            case 'T': case 'B': {                                  // BINSTRING / BINBYTES
                int32_t n = take_le<int32_t>();
                if (n < 0) fail("negative string length");
                push_str(uint64_t(n));
                return;
            }
            case 'q': memo_[take_le<uint8_t>()] = top(); return;   // BINPUT
            case 'r': memo_[take_le<uint32_t>()] = top(); return;  // LONG_BINPUT
            case 0x94: memo_[memo_.size()] = top(); return;        // MEMOIZE
            case 'h': case 'j': {                                  // BINGET / LONG_BINGET
                uint64_t k = op == 'h' ? take_le<uint8_t>() : take_le<uint32_t>();
                auto it = memo_.find(k);
                if (it == memo_.end()) fail("memo key " + std::to_string(k) + " was never stored");
                push(it->second);
                return;
            }
            case 'c': {  // GLOBAL "module\nname\n"
                std::string module = read_line();
                std::string name = read_line();
                push_global(module, name);
                return;
            }
            case 0x93: {  // STACK_GLOBAL
                int32_t name = pop(), module = pop();
                if (at(name).kind != Kind::str || at(module).kind != Kind::str) fail("STACK_GLOBAL needs two strings");
                push_global(at(module).s, at(name).s);
                return;
            }
            case 't': {
                Node n;
                n.kind = Kind::tuple;
                n.items = pop_mark();
                push(add(std::move(n)));
                return;
            }
            case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
                size_t k = size_t(op - 0x84);
                Node n;
                n.kind = Kind::tuple;
                n.items.resize(k);
                for (size_t j = k; j-- > 0;) n.items[j] = pop();
                push(add(std::move(n)));
                return;
            }
            case 'J': push(add_kind(Kind::integer, take_le<int32_t>())); return;
            case 'K': push(add_kind(Kind::integer, take_le<uint8_t>())); return;
            case 'M': push(add_kind(Kind::integer, take_le<uint16_t>())); return;
            case 0x8a: {  // LONG1: n-byte little-endian two's complement
                uint8_t n = take_le<uint8_t>();
                if (n > 8) fail("integer wider than 64 bits");
                const uint8_t* b = take(n);
                uint64_t u = 0;
                for (int j = 0; j < n; j++) u |= uint64_t(b[j]) << (8 * j);
                if (n > 0 && n < 8 && (b[n - 1] & 0x80)) u |= ~uint64_t(0) << (8 * n);
                int64_t sv;
                std::memcpy(&sv, &u, 8);
                push(add_kind(Kind::integer, sv));
                return;
            }
            case 'G': take(8); push(add_kind(Kind::real)); return;  // BINFLOAT (value unused)
            case 0x88: push(add_kind(Kind::boolean, 1)); return;    // NEWTRUE
            case 0x89: push(add_kind(Kind::boolean, 0)); return;    // NEWFALSE
            case 'N': push(add_kind(Kind::none)); return;
            case 'Q': persid(); return;
            case 'R': reduce(); return;
            case 's': {
                int32_t val = pop(), key = pop();
                set_items(top(), {key, val});
                return;
            }
            case 'u': {
                std::vector<int32_t> kv = pop_mark();
                set_items(top(), kv);
                return;
            }
            case 'a': {
                int32_t val = pop();
                if (at(top()).kind != Kind::list) fail("APPEND to something that is not a list");
                at(top()).items.push_back(val);
                return;
            }
            case 'e': {
                std::vector<int32_t> vals = pop_mark();
                if (at(top()).kind != Kind::list) fail("APPENDS to something that is not a list");
                auto& items = at(top()).items;
                items.insert(items.end(), vals.begin(), vals.end());
                return;
            }
            case 'b': {  // BUILD: only state on OrderedDicts (_metadata) or tensors; the state is dropped
                pop();
                Kind k = at(top()).kind;
                if (k != Kind::dict && k != Kind::tensor) fail("BUILD on an object that is not a dict or tensor");
                return;
            }
            case '0': pop(); return;  // POP
            case '1': pop_mark(); return;
            case '2': push(top()); return;  // DUP
            default: {
                const char* n = opcode_name(op);
                char hex[8];
                std::snprintf(hex, sizeof hex, "0x%02x", op);
                fail(n ? std::string("opcode ") + n + " (" + hex + ") is not allowed in a state dict"
                       : std::string("unknown pickle opcode ") + hex + " — the file is corrupt or not a torch.save pickle");
            }
        }
    }

    // Flattens dict -> tensors; each dict is visited once, so shared or cyclic dicts stay cheap.
    void collect(int32_t id, const std::string& prefix, int depth, std::vector<bool>& seen,
                 std::vector<PickledTensor>* out) {
        const Node& n = at(id);
        if (n.kind != Kind::dict || depth > 4 || seen[size_t(id)]) return;
        seen[size_t(id)] = true;
        for (size_t k = 0; k + 1 < n.items.size(); k += 2) {
            const Node& key = at(n.items[k]);
            std::string name = prefix + (key.kind == Kind::str ? key.s : std::to_string(key.i));
            const Node& val = at(n.items[k + 1]);
            if (val.kind == Kind::tensor) {
                PickledTensor t = val.t;
                t.name = name;
                out->push_back(std::move(t));
            } else if (val.kind == Kind::dict) {
                collect(n.items[k + 1], name + ".", depth + 1, seen, out);
            }
        }
    }
};

}  // namespace

std::vector<PickledTensor> parse_torch_pickle(const ByteView& pkl) { return Interpreter(pkl).run(); }

}  // namespace janus::io
