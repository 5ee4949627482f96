#include "io/gguf.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/mapped_file.h"

namespace anatomy::io {
namespace {

enum GgufType : uint32_t {
  kU8 = 0, kI8, kU16, kI16, kU32, kI32, kF32, kBool, kString, kArray, kU64, kI64, kF64,
};
constexpr uint64_t kMaxNameLength = 64;  // GGML_MAX_NAME
constexpr uint32_t kMaxDims = 4;         // GGML_MAX_DIMS
constexpr uint64_t kMaxAlignment = 1 << 16;

// Sequential reader over a FileReader with a read-ahead window.
class Cursor {
 public:
  explicit Cursor(const FileReader& r) : r_(r) {}
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return r_.size() - pos_; }

  void read(void* dst, size_t n, const char* what) {
    if (n > remaining())
      fail_at(ErrorKind::format, r_.path(), what,
              "needs " + std::to_string(n) + " bytes at offset " + std::to_string(pos_) +
                  " but the file ends at " + std::to_string(r_.size()));
    auto* out = static_cast<char*>(dst);
    while (n > 0) {
      if (pos_ < buf_start_ || pos_ >= buf_start_ + buf_.size()) fill();
      const size_t k = std::min<uint64_t>(n, buf_start_ + buf_.size() - pos_);
      std::memcpy(out, buf_.data() + (pos_ - buf_start_), k);
      out += k;
      pos_ += k;
      n -= k;
    }
  }
  template <class T>
  T get(const char* what) {
    T v;
    read(&v, sizeof v, what);
    return v;
  }
  std::string string(const std::string& what, uint64_t max_len) {
    const auto n = get<uint64_t>(what.c_str());
    if (n > remaining() || n > max_len)
      fail_at(ErrorKind::format, r_.path(), what,
              "string length " + std::to_string(n) + " exceeds " +
                  (n > remaining() ? "the rest of the file" : "the limit " + std::to_string(max_len)));
    std::string s(n, '\0');
    read(s.data(), n, what.c_str());
    return s;
  }

 private:
  void fill() {
    buf_start_ = pos_;
    buf_.resize(std::min<uint64_t>(1 << 20, r_.size() - pos_));
    r_.read_at(pos_, buf_.data(), buf_.size(), "GGUF header");
  }
  const FileReader& r_;
  uint64_t pos_ = 0;
  uint64_t buf_start_ = 0;
  std::vector<char> buf_;
};

size_t scalar_size(uint32_t type) {
  switch (type) {
    case kU8: case kI8: case kBool: return 1;
    case kU16: case kI16: return 2;
    case kU32: case kI32: case kF32: return 4;
    case kU64: case kI64: case kF64: return 8;
    default: return 0;
  }
}

ordered_json read_scalar(Cursor& c, uint32_t type, const std::string& key) {
  const char* w = key.c_str();
  switch (type) {
    case kU8: return c.get<uint8_t>(w);
    case kI8: return c.get<int8_t>(w);
    case kU16: return c.get<uint16_t>(w);
    case kI16: return c.get<int16_t>(w);
    case kU32: return c.get<uint32_t>(w);
    case kI32: return c.get<int32_t>(w);
    case kF32: return c.get<float>(w);
    case kU64: return c.get<uint64_t>(w);
    case kI64: return c.get<int64_t>(w);
    case kF64: return c.get<double>(w);
    case kBool: {
      const auto b = c.get<uint8_t>(w);
      if (b > 1) fail(ErrorKind::format, key + ": bool value " + std::to_string(b));
      return b == 1;
    }
    case kString: return c.string(key, c.remaining());
    default: fail(ErrorKind::format, key + ": bad value type " + std::to_string(type));
  }
}

// `type` and `elem` (arrays) receive the stored GGUF types.
ordered_json read_value(Cursor& c, const std::string& path, const std::string& key, uint32_t& type, uint32_t& elem) {
  type = c.get<uint32_t>(key.c_str());
  elem = 0;
  if (type != kArray) {
    if (type > kF64) fail_at(ErrorKind::format, path, key, "bad value type " + std::to_string(type));
    try {
      return read_scalar(c, type, key);
    } catch (Error& e) {
      throw e.with_context(path);
    }
  }
  elem = c.get<uint32_t>(key.c_str());
  if (elem == kArray) fail_at(ErrorKind::format, path, key, "nested arrays are not supported");
  if (elem > kF64) fail_at(ErrorKind::format, path, key, "bad array element type " + std::to_string(elem));
  const auto n = c.get<uint64_t>(key.c_str());
  const uint64_t min_elem = elem == kString ? 8 : scalar_size(elem);
  if (n > c.remaining() / min_elem)
    fail_at(ErrorKind::format, path, key, "array of " + std::to_string(n) +
                                              " elements does not fit in the rest of the file");
  ordered_json arr = ordered_json::array();
  for (uint64_t i = 0; i < n; ++i) {
    try {
      arr.push_back(read_scalar(c, elem, key));
    } catch (Error& e) {
      throw e.with_context(path);
    }
  }
  return arr;
}

// Tokenizer keys whose types the spec fixes: a file storing them otherwise is refused rather
// than reinterpreted, and token ids must index the vocabulary.
void check_tokenizer(const GgufFile& f, const std::map<std::string, std::pair<uint32_t, uint32_t>>& types) {
  static const std::map<std::string, std::pair<uint32_t, uint32_t>> expected = {
      {"tokenizer.ggml.model", {kString, 0}},        {"tokenizer.ggml.tokens", {kArray, kString}},
      {"tokenizer.ggml.scores", {kArray, kF32}},     {"tokenizer.ggml.token_type", {kArray, kI32}},
      {"tokenizer.ggml.merges", {kArray, kString}},  {"tokenizer.ggml.bos_token_id", {kU32, 0}},
      {"tokenizer.ggml.eos_token_id", {kU32, 0}},    {"tokenizer.ggml.unknown_token_id", {kU32, 0}},
      {"tokenizer.ggml.padding_token_id", {kU32, 0}}, {"tokenizer.ggml.seperator_token_id", {kU32, 0}}};
  for (const auto& [key, want] : expected) {
    auto it = types.find(key);
    if (it != types.end() && it->second != want)
      fail_at(ErrorKind::format, f.path, key,
              fmt::format("stored as type {}/{}; the GGUF spec says {}/{}", it->second.first, it->second.second,
                          want.first, want.second));
  }
  auto tokens = f.metadata.find("tokenizer.ggml.tokens");
  if (tokens == f.metadata.end()) return;
  const size_t n = tokens->size();
  for (const char* key : {"tokenizer.ggml.scores", "tokenizer.ggml.token_type"})
    if (auto it = f.metadata.find(key); it != f.metadata.end() && it->size() != n)
      fail_at(ErrorKind::format, f.path, key, fmt::format("{} entries for {} tokens", it->size(), n));
  for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
                          "tokenizer.ggml.padding_token_id", "tokenizer.ggml.seperator_token_id"})
    if (auto it = f.metadata.find(key); it != f.metadata.end() && it->get<uint64_t>() >= n)
      fail_at(ErrorKind::format, f.path, key, fmt::format("token id {} is not below the vocabulary size {}", it->get<uint64_t>(), n));
}

}  // namespace

std::string GgufFile::architecture() const {
  auto it = metadata.find("general.architecture");
  if (it == metadata.end() || !it->is_string())
    fail_at(ErrorKind::format, path, "general.architecture", "missing");
  return it->get<std::string>();
}

GgufFile read_gguf(const std::string& path) {
  FileReader reader(path);
  Cursor c(reader);
  GgufFile f;
  f.path = path;
  char magic[4];
  c.read(magic, 4, "magic");
  if (std::memcmp(magic, "GGUF", 4) != 0) fail_at(ErrorKind::format, path, "magic", "not a GGUF file");
  f.version = c.get<uint32_t>("version");
  if (f.version != 2 && f.version != 3) {
    const bool swapped = f.version == 0x02000000u || f.version == 0x03000000u;
    fail_at(ErrorKind::format, path, "version",
            std::to_string(f.version) + " is not supported (2 or 3" +
                (swapped ? "; this looks like a big-endian file)" : ")"));
  }
  const auto n_tensors = c.get<uint64_t>("n_tensors");
  const auto n_kv = c.get<uint64_t>("n_kv");
  // Each tensor info takes at least 8+4+4+8 bytes, each key/value at least 8+1+4+1.
  if (n_tensors > c.remaining() / 24)
    fail_at(ErrorKind::format, path, "n_tensors", std::to_string(n_tensors) + " cannot fit in the file");
  if (n_kv > c.remaining() / 14)
    fail_at(ErrorKind::format, path, "n_kv", std::to_string(n_kv) + " cannot fit in the file");

  std::map<std::string, std::pair<uint32_t, uint32_t>> types;
  for (uint64_t i = 0; i < n_kv; ++i) {
    const std::string key = c.string("metadata key " + std::to_string(i), 1 << 16);
    if (key.empty()) fail_at(ErrorKind::format, path, "metadata key " + std::to_string(i), "empty key");
    if (f.metadata.contains(key)) fail_at(ErrorKind::format, path, key, "duplicate key");
    uint32_t type = 0, elem = 0;
    f.metadata[key] = read_value(c, path, key, type, elem);
    types[key] = {type, elem};
  }
  check_tokenizer(f, types);
  if (auto it = f.metadata.find("general.alignment"); it != f.metadata.end()) {
    if (!it->is_number_unsigned() || it->get<uint64_t>() == 0 ||
        (it->get<uint64_t>() & (it->get<uint64_t>() - 1)) != 0 || it->get<uint64_t>() > kMaxAlignment)
      fail_at(ErrorKind::format, path, "general.alignment",
              it->dump() + " is not a power of two up to " + std::to_string(kMaxAlignment));
    f.alignment = it->get<uint64_t>();
  }

  std::set<std::string> names;
  std::vector<uint64_t> rel_offsets;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorEntry t;
    t.file = path;
    t.name = c.string("tensor " + std::to_string(i) + " name", kMaxNameLength);
    const std::string field = "tensor '" + t.name + "'";
    if (!names.insert(t.name).second) fail_at(ErrorKind::format, path, field, "duplicate tensor name");
    const auto n_dims = c.get<uint32_t>(field.c_str());
    if (n_dims == 0 || n_dims > kMaxDims)
      fail_at(ErrorKind::format, path, field + ".n_dims", std::to_string(n_dims) + " is not in 1..4");
    std::vector<uint64_t> ne(n_dims);
    for (auto& d : ne) {
      d = c.get<uint64_t>(field.c_str());
      if (d == 0 || d > (uint64_t{1} << 62))
        fail_at(ErrorKind::format, path, field + ".shape", "dimension " + std::to_string(d) + " is out of range");
    }
    const auto type = c.get<uint32_t>(field.c_str());
    const auto dtype = dtype_from_ggml(type);
    if (!dtype) fail_at(ErrorKind::format, path, field + ".type", "unknown ggml type " + std::to_string(type));
    t.dtype = *dtype;
    for (auto it = ne.rbegin(); it != ne.rend(); ++it) t.shape.push_back(static_cast<int64_t>(*it));
    const auto numel = shape_numel(t.shape);
    const auto bytes = numel ? dtype_bytes(t.dtype, *numel) : std::nullopt;
    if (!bytes || ne[0] % dtype_info(t.dtype).block_size != 0)
      fail_at(ErrorKind::format, path, field + ".shape",
              shape_str(t.shape) + " overflows or is not a whole number of " + dtype_name(t.dtype) + " blocks");
    t.nbytes = *bytes;
    t.offset = c.get<uint64_t>(field.c_str());
    if (t.offset % f.alignment != 0)
      fail_at(ErrorKind::format, path, field + ".offset",
              std::to_string(t.offset) + " is not aligned to " + std::to_string(f.alignment));
    f.tensors.push_back(std::move(t));
  }
  f.data_offset = (c.pos() + f.alignment - 1) / f.alignment * f.alignment;
  const uint64_t data_size = f.data_offset <= reader.size() ? reader.size() - f.data_offset : 0;

  std::vector<const TensorEntry*> order;
  for (const auto& t : f.tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  uint64_t end = 0;
  for (const auto* t : order) {
    const std::string field = "tensor '" + t->name + "'.offset";
    if (t->offset < end) fail_at(ErrorKind::format, path, field, "overlaps the previous tensor");
    if (t->offset > data_size || t->nbytes > data_size - t->offset)
      fail_at(ErrorKind::format, path, field,
              "data [" + std::to_string(t->offset) + ", +" + std::to_string(t->nbytes) +
                  ") is past the end of the file's data (" + std::to_string(data_size) + " bytes)");
    end = t->offset + t->nbytes;
  }
  for (auto& t : f.tensors) t.offset += f.data_offset;
  return f;
}

}  // namespace anatomy::io
