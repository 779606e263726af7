// NumPy .npy reading and writing (format versions 1.0 and 2.0 read, 1.0 written; C order only;
// little-endian numeric dtypes). Used by --dump (activations f32, ids i32/i64), `janus vq` code grids,
// and tests that read PyTorch goldens. Shapes are kept as given, e.g. [n, 576, 1024].
#include <cstring>
#include <fstream>
#include <sstream>

#include "janus/error.h"
#include "janus/npy.h"
#include "kernels/dtype.h"

namespace janus {

namespace {

size_t descr_size(const std::string& d, const std::string& path) {
    if (d == "<f4" || d == "<i4" || d == "<u4") return 4;
    if (d == "<f8" || d == "<i8" || d == "<u8") return 8;
    if (d == "<f2" || d == "<i2" || d == "<u2") return 2;
    if (d == "|u1" || d == "|i1" || d == "|b1") return 1;
    throw file_error(path, "unsupported .npy dtype '" + d +
                               "' (supported: little-endian f2/f4/f8, i1/i2/i4/i8, u1/u2/u4/u8, b1)");
}

// Value of 'key': ... in the header dict (a Python literal written by numpy).
std::string dict_value(const std::string& h, const std::string& key, const std::string& path) {
    size_t k = h.find("'" + key + "'");
    if (k == std::string::npos) throw file_error(path, "malformed .npy header: no '" + key + "'");
    size_t c = h.find(':', k);
    size_t s = h.find_first_not_of(' ', c + 1);
    if (c == std::string::npos || s == std::string::npos) throw file_error(path, "malformed .npy header");
    size_t e;
    if (h[s] == '\'') e = h.find('\'', s + 1) + 1;
    else if (h[s] == '(') e = h.find(')', s) + 1;
    else e = h.find_first_of(",}", s);
    if (e == std::string::npos || e == 0) throw file_error(path, "malformed .npy header");
    return h.substr(s, e - s);
}

}  // namespace

int64_t Npy::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

std::vector<float> Npy::to_f32() const {
    std::vector<float> out(static_cast<size_t>(numel()));
    const uint8_t* p = bytes.data();
    if (descr != "<f4" && descr != "<f8" && descr != "<f2") {  // integer / bool arrays
        std::vector<int64_t> v = to_i64();
        for (size_t i = 0; i < out.size(); ++i) out[i] = float(v[i]);
        return out;
    }
    for (size_t i = 0; i < out.size(); ++i) {
        if (descr == "<f4") { std::memcpy(&out[i], p + 4 * i, 4); }
        else if (descr == "<f8") { double v; std::memcpy(&v, p + 8 * i, 8); out[i] = float(v); }
        else { uint16_t v; std::memcpy(&v, p + 2 * i, 2); out[i] = f16_to_f32(v); }
    }
    return out;
}

std::vector<int64_t> Npy::to_i64() const {
    std::vector<int64_t> out(static_cast<size_t>(numel()));
    const uint8_t* p = bytes.data();
    for (size_t i = 0; i < out.size(); ++i) {
        if (descr == "<i8") { std::memcpy(&out[i], p + 8 * i, 8); }
        else if (descr == "<u8") { uint64_t v; std::memcpy(&v, p + 8 * i, 8); out[i] = int64_t(v); }
        else if (descr == "<i4") { int32_t v; std::memcpy(&v, p + 4 * i, 4); out[i] = v; }
        else if (descr == "<u4") { uint32_t v; std::memcpy(&v, p + 4 * i, 4); out[i] = v; }
        else if (descr == "<i2") { int16_t v; std::memcpy(&v, p + 2 * i, 2); out[i] = v; }
        else if (descr == "<u2") { uint16_t v; std::memcpy(&v, p + 2 * i, 2); out[i] = v; }
        else if (descr == "|i1") { out[i] = int8_t(p[i]); }
        else if (descr == "|u1" || descr == "|b1") { out[i] = p[i]; }
        else throw Error(".npy array of dtype '" + descr + "' is not an integer array");
    }
    return out;
}

Npy read_npy(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw file_error(path, "cannot open .npy file");
    char magic[8];
    if (!f.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
        throw file_error(path, "not a .npy file (bad magic; save it with numpy.save)");
    uint32_t hlen = 0;
    if (magic[6] == 1) {
        uint8_t b[2];
        if (!f.read(reinterpret_cast<char*>(b), 2)) throw file_error(path, "truncated .npy header");
        hlen = b[0] | (b[1] << 8);
    } else if (magic[6] == 2 || magic[6] == 3) {
        uint8_t b[4];
        if (!f.read(reinterpret_cast<char*>(b), 4)) throw file_error(path, "truncated .npy header");
        hlen = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24);
        if (hlen > (1u << 20)) throw file_error(path, "implausible .npy header length");
    } else {
        throw file_error(path, "unsupported .npy format version " + std::to_string(int(magic[6])));
    }
    std::string h(hlen, '\0');
    if (!f.read(h.data(), hlen)) throw file_error(path, "truncated .npy header");
    Npy a;
    std::string d = dict_value(h, "descr", path);
    a.descr = d.size() >= 2 ? d.substr(1, d.size() - 2) : d;
    if (a.descr == "<b1") a.descr = "|b1";
    size_t es = descr_size(a.descr, path);
    if (dict_value(h, "fortran_order", path) != "False")
        throw file_error(path, ".npy array is in Fortran order; save it with numpy.ascontiguousarray");
    std::string s = dict_value(h, "shape", path);
    std::stringstream ss(s.substr(1, s.size() - 2));
    std::string item;
    while (std::getline(ss, item, ',')) {
        size_t b = item.find_first_not_of(' ');
        if (b == std::string::npos) continue;
        try {
            a.shape.push_back(std::stoll(item.substr(b)));
        } catch (...) {
            throw file_error(path, "malformed .npy shape " + s);
        }
        if (a.shape.back() < 0) throw file_error(path, "negative dimension in .npy shape " + s);
    }
    int64_t n = a.numel();
    if (n > (int64_t(1) << 34) / int64_t(es)) throw file_error(path, "implausibly large .npy array " + s);
    a.bytes.resize(size_t(n) * es);
    if (n && !f.read(reinterpret_cast<char*>(a.bytes.data()), std::streamsize(a.bytes.size())))
        throw file_error(path, "truncated .npy data: header says " + s + " of " + a.descr);
    return a;
}

void write_npy(const std::string& path, const Npy& a) {
    if (a.bytes.size() != size_t(a.numel()) * descr_size(a.descr, path))
        throw Error("write_npy(" + path + "): byte count does not match shape and dtype");
    std::string shape = "(";
    for (size_t i = 0; i < a.shape.size(); ++i) shape += std::to_string(a.shape[i]) + (a.shape.size() == 1 ? "," : i + 1 < a.shape.size() ? ", " : "");
    shape += ")";
    std::string h = "{'descr': '" + a.descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    size_t total = 10 + h.size() + 1;
    h += std::string((64 - total % 64) % 64, ' ') + "\n";
    std::ofstream f(path, std::ios::binary);
    if (!f) throw file_error(path, "cannot create .npy file (does the directory exist and is it writable?)");
    uint16_t hl = uint16_t(h.size());
    f.write("\x93NUMPY\x01\x00", 8);
    char lb[2] = {char(hl & 0xFF), char(hl >> 8)};
    f.write(lb, 2);
    f.write(h.data(), std::streamsize(h.size()));
    f.write(reinterpret_cast<const char*>(a.bytes.data()), std::streamsize(a.bytes.size()));
    if (!f) throw file_error(path, "write error (disk full?)");
}

namespace {
template <class T>
void write_typed(const std::string& path, const char* descr, const T* data, const std::vector<int64_t>& shape) {
    Npy a;
    a.descr = descr;
    a.shape = shape;
    a.bytes.resize(size_t(a.numel()) * sizeof(T));
    if (!a.bytes.empty()) std::memcpy(a.bytes.data(), data, a.bytes.size());
    write_npy(path, a);
}
}  // namespace

void write_npy_f32(const std::string& p, const float* d, const std::vector<int64_t>& s) { write_typed(p, "<f4", d, s); }
void write_npy_i32(const std::string& p, const int32_t* d, const std::vector<int64_t>& s) { write_typed(p, "<i4", d, s); }
void write_npy_i64(const std::string& p, const int64_t* d, const std::vector<int64_t>& s) { write_typed(p, "<i8", d, s); }
void write_npy_u8(const std::string& p, const uint8_t* d, const std::vector<int64_t>& s) { write_typed(p, "|u1", d, s); }

}  // namespace janus
