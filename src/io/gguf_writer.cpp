#include "io/gguf_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "core/error.h"

namespace anatomy::io {
namespace {

void put_bytes(std::vector<char>& out, const void* p, size_t n) {
  const size_t at = out.size();
  out.resize(at + n);
  if (n) std::memcpy(out.data() + at, p, n);
}

template <class T>
void put(std::vector<char>& out, const T& v) {
  put_bytes(out, &v, sizeof v);
}

void put_string(std::vector<char>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  put_bytes(out, s.data(), s.size());
}

enum : uint32_t { kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8, kArray = 9 };

}  // namespace

void GgufWriter::key(const std::string& k, uint32_t type) {
  put_string(kv_, k);
  put<uint32_t>(kv_, type);
  ++n_kv_;
}

void GgufWriter::add_u32(const std::string& k, uint32_t v) { key(k, kU32), put(kv_, v); }
void GgufWriter::add_i32(const std::string& k, int32_t v) { key(k, kI32), put(kv_, v); }
void GgufWriter::add_f32(const std::string& k, float v) { key(k, kF32), put(kv_, v); }
void GgufWriter::add_bool(const std::string& k, bool v) { key(k, kBool), put<uint8_t>(kv_, v ? 1 : 0); }
void GgufWriter::add_string(const std::string& k, const std::string& v) { key(k, kString), put_string(kv_, v); }

void GgufWriter::add_strings(const std::string& k, const std::vector<std::string>& v) {
  key(k, kArray);
  put<uint32_t>(kv_, kString);
  put<uint64_t>(kv_, v.size());
  for (const auto& s : v) put_string(kv_, s);
}

#define ANATOMY_GGUF_ARRAY(fn, T, code)                                  \
  void GgufWriter::fn(const std::string& k, const std::vector<T>& v) {   \
    key(k, kArray);                                                      \
    put<uint32_t>(kv_, code);                                            \
    put<uint64_t>(kv_, v.size());                                        \
    for (const auto& x : v) put(kv_, x);                                 \
  }
ANATOMY_GGUF_ARRAY(add_f32s, float, kF32)
ANATOMY_GGUF_ARRAY(add_i32s, int32_t, kI32)
ANATOMY_GGUF_ARRAY(add_u32s, uint32_t, kU32)
#undef ANATOMY_GGUF_ARRAY

void GgufWriter::add_tensor(const std::string& name, const Tensor& t) {
  if (t.is_meta() || !t.is_contiguous()) fail(ErrorKind::internal, "GGUF writer needs contiguous data for " + name);
  if (dtype_info(t.dtype()).ggml_id < 0) fail(ErrorKind::unsupported, std::string("GGUF has no type for ") + dtype_name(t.dtype()));
  tensors_.emplace_back(name, t);
}

void GgufWriter::write(const std::string& path, uint32_t alignment) const {
  std::vector<char> out;
  put_bytes(out, "GGUF", 4);
  put<uint32_t>(out, 3);
  put<uint64_t>(out, tensors_.size());
  put<uint64_t>(out, n_kv_ + 1);
  put_bytes(out, kv_.data(), kv_.size());
  put_string(out, "general.alignment");
  put<uint32_t>(out, kU32);
  put<uint32_t>(out, alignment);
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors_) {
    put_string(out, name);
    put<uint32_t>(out, static_cast<uint32_t>(t.shape().size()));
    for (auto it = t.shape().rbegin(); it != t.shape().rend(); ++it) put<uint64_t>(out, static_cast<uint64_t>(*it));
    put<uint32_t>(out, static_cast<uint32_t>(dtype_info(t.dtype()).ggml_id));
    put<uint64_t>(out, offset);
    offset += (t.nbytes() + alignment - 1) / alignment * alignment;
  }
  out.resize((out.size() + alignment - 1) / alignment * alignment, '\0');
  for (const auto& [name, t] : tensors_) {
    put_bytes(out, t.raw(), t.nbytes());
    out.resize((out.size() + alignment - 1) / alignment * alignment, '\0');
  }
  // Written beside the target and renamed, so a failure never leaves a partial file under its name.
  const std::string tmp = path + ".tmp";
  const auto cannot = [&](const char* step) {
    const std::string reason = std::strerror(errno);
    std::remove(tmp.c_str());
    fail(ErrorKind::io, path + ": cannot write GGUF (" + step + " " + tmp + ": " + reason + ")");
  };
  errno = 0;
  std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
  if (!f) cannot("creating");
  f.write(out.data(), static_cast<std::streamsize>(out.size()));
  f.close();
  if (!f) cannot("writing");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) cannot("renaming");
}

}  // namespace anatomy::io
