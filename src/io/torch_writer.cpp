#include "io/torch_writer.h"

#include <zip.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "core/error.h"

namespace anatomy::io {
namespace {

// The pickle opcodes used (Python's pickletools names).
struct Pickler {
  std::string out;
  void op(char c) { out += c; }
  void global(const std::string& module, const std::string& name) { out += "c" + module + "\n" + name + "\n"; }
  void text(const std::string& s) {  // BINUNICODE
    out += 'X';
    put32(static_cast<uint32_t>(s.size()));
    out += s;
  }
  void integer(int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {  // BININT
      out += 'J';
      put32(static_cast<uint32_t>(v));
    } else {  // LONG1, 8 little-endian bytes
      out += "\x8a\x08";
      for (int i = 0; i < 8; ++i) out += static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xFF);
    }
  }
  void ints(const std::vector<int64_t>& v) {
    op('(');
    for (int64_t x : v) integer(x);
    op('t');
  }
  void empty_ordered_dict() {
    global("collections", "OrderedDict");
    op(')');
    op('R');
  }
  void put32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
  }
};

struct Zip {
  zip_t* z = nullptr;
  ~Zip() {
    if (z) zip_discard(z);
  }
};

void add(zip_t* z, const std::string& name, const void* data, size_t size, const std::string& path) {
  zip_source_t* src = zip_source_buffer(z, data, size, 0);
  const zip_int64_t index = src ? zip_file_add(z, name.c_str(), src, ZIP_FL_OVERWRITE) : -1;
  if (index < 0) {
    if (src) zip_source_free(src);
    fail(ErrorKind::io, fmt::format("{}: cannot add {} ({})", path, name, zip_strerror(z)));
  }
  zip_set_file_compression(z, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
}

}  // namespace

void write_torch_state_dict(const std::string& path, const NamedTensors& tensors) {
  const std::string archive = std::filesystem::path(path).stem().string();
  std::map<const Storage*, std::pair<std::string, const Tensor*>> storages;  // storage -> key, tensor
  Pickler p;
  p.out = "\x80\x02";
  p.empty_ordered_dict();
  p.op('(');
  for (const auto& [name, t] : tensors) {
    if (t.dtype() != DType::F32 || t.is_meta() || !t.is_contiguous())
      fail(ErrorKind::internal, fmt::format("{}: {} is not a contiguous F32 tensor with data", path, name));
    auto [it, added] = storages.try_emplace(t.storage().get(), std::to_string(storages.size()), &t);
    const std::vector<int64_t> strides(t.strides().begin(), t.strides().end());
    p.text(name);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    p.op('(');  // persistent id: ('storage', FloatStorage, key, location, numel)
    p.text("storage");
    p.global("torch", "FloatStorage");
    p.text(it->second.first);
    p.text("cpu");
    p.integer(static_cast<int64_t>(t.storage()->size() / sizeof(float)));
    p.op('t');
    p.op('Q');
    p.integer(static_cast<int64_t>(t.offset() / sizeof(float)));
    p.ints(t.shape());
    p.ints(strides);
    p.op('\x89');  // requires_grad = False
    p.empty_ordered_dict();  // backward hooks
    p.op('t');
    p.op('R');
  }
  p.op('u');
  p.op('.');

  const std::string tmp = path + ".partial";
  std::remove(tmp.c_str());
  int err = 0;
  Zip zip;
  zip.z = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!zip.z) fail(ErrorKind::io, fmt::format("{}: cannot create (libzip error {})", tmp, err));
  static const std::string version = "3\n", byteorder = "little";
  add(zip.z, archive + "/data.pkl", p.out.data(), p.out.size(), path);
  add(zip.z, archive + "/byteorder", byteorder.data(), byteorder.size(), path);
  for (const auto& [storage, entry] : storages)
    add(zip.z, archive + "/data/" + entry.first, entry.second->storage()->data(), entry.second->storage()->size(), path);
  add(zip.z, archive + "/version", version.data(), version.size(), path);
  if (zip_close(zip.z) != 0) fail(ErrorKind::io, fmt::format("{}: cannot write ({})", tmp, zip_strerror(zip.z)));
  zip.z = nullptr;
  std::filesystem::rename(tmp, path);
}

}  // namespace anatomy::io
