#include "io/torch_checkpoint.h"

#include <zip.h>

#include <cstring>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/pickle.h"

namespace anatomy::io {
namespace {

using Kind = PickleValue::Kind;
constexpr uint64_t kMaxPickle = 256ull << 20;

[[noreturn]] void bad(const std::string& path, const std::string& why) { fail(ErrorKind::format, path + ": " + why); }

// A storage as the object pickle references it, and where its bytes are.
struct StorageInfo {
  DType dtype;
  uint64_t numel;
  std::string archive_entry;  // zip
  uint64_t offset = 0;        // legacy: absolute offset in the file
  bool located = false;
};

// Plain values of nanoGPT's model_args as JSON (bounded depth).
json to_json(const Pickle& p, uint32_t i, const std::string& path, int depth = 0) {
  if (depth > 16) bad(path, "model_args nested deeper than 16");
  const PickleValue& v = p.at(i);
  switch (v.kind) {
    case Kind::none: return nullptr;
    case Kind::boolean: return v.integer != 0;
    case Kind::integer: return v.integer;
    case Kind::floating: return v.floating;
    case Kind::string: return v.text;
    case Kind::tuple:
    case Kind::list: {
      json a = json::array();
      for (uint32_t item : v.items) a.push_back(to_json(p, item, path, depth + 1));
      return a;
    }
    case Kind::dict: {
      json o = json::object();
      for (size_t k = 0; k + 1 < v.items.size(); k += 2) {
        if (p.at(v.items[k]).kind != Kind::string) bad(path, "model_args has a non-string key");
        o[p.at(v.items[k]).text] = to_json(p, v.items[k + 1], path, depth + 1);
      }
      return o;
    }
    default: bad(path, "model_args holds a value that is not plain data");
  }
}

const PickleValue* dict_get(const Pickle& p, const PickleValue& d, const std::string& key) {
  for (size_t k = 0; k + 1 < d.items.size(); k += 2)
    if (p.at(d.items[k]).kind == Kind::string && p.at(d.items[k]).text == key) return &p.at(d.items[k + 1]);
  return nullptr;
}

// The state dict inside the object pickle, and the layout it was found in.
const PickleValue& find_state_dict(const Pickle& p, TorchCheckpoint& out, const std::string& path) {
  const PickleValue& root = p.at(p.root);
  if (root.kind != Kind::dict) bad(path, "the checkpoint object is not a dict (a state_dict or nanoGPT's checkpoint)");
  const PickleValue* model = dict_get(p, root, "model");
  if (model && model->kind == Kind::dict) {
    out.layout = "nanoGPT checkpoint (model, model_args)";
    for (size_t k = 0; k + 1 < root.items.size(); k += 2)
      if (p.at(root.items[k]).text == "model_args") out.model_args = to_json(p, root.items[k + 1], path);
    return *model;
  }
  if (const PickleValue* sd = dict_get(p, root, "state_dict"); sd && sd->kind == Kind::dict) {
    out.layout = "state_dict under 'state_dict'";
    return *sd;
  }
  out.layout = "state_dict";
  return root;
}

Shape contiguous_strides(const Shape& shape) {
  Shape s(shape.size());
  int64_t step = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = step;
    step *= std::max<int64_t>(shape[i], 1);
  }
  return s;
}

// One TensorEntry per state-dict tensor; bounds checked against its storage.
void collect_tensors(const Pickle& p, const PickleValue& sd, std::map<std::string, StorageInfo>& storages,
                     const std::string& path, TorchCheckpoint& out) {
  for (size_t k = 0; k + 1 < sd.items.size(); k += 2) {
    const PickleValue& key = p.at(sd.items[k]);
    const PickleValue& t = p.at(sd.items[k + 1]);
    if (key.kind != Kind::string) bad(path, "state_dict key is not a string");
    const std::string& name = key.text;
    if (t.kind != Kind::tensor) bad(path, "state_dict entry '" + name + "' is not a tensor");
    const PickleValue& st = p.at(t.items[0]);
    auto [it, fresh] = storages.emplace(st.text, StorageInfo{st.dtype, st.numel, "", 0, false});
    if (!fresh && (it->second.dtype != st.dtype || it->second.numel != st.numel))
      bad(path, fmt::format("storage '{}' is referenced with two types or sizes", st.text));
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0 || d > (int64_t{1} << 40)) bad(path, fmt::format("tensor '{}': dimension {}", name, d));
      if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel)) bad(path, "tensor '" + name + "': size overflows");
    }
    if (numel > 0 && t.stride != contiguous_strides(t.shape))
      bad(path, fmt::format("tensor '{}' is not contiguous (stride {}); save tensor.contiguous()", name, shape_str(t.stride)));
    if (t.offset > st.numel || numel > st.numel - t.offset)
      bad(path, fmt::format("tensor '{}': elements [{}, {}) outside its storage of {}", name, t.offset, t.offset + numel, st.numel));
    const uint64_t elem = dtype_info(st.dtype).block_bytes;
    out.tensors.push_back({name, st.dtype, t.shape, "", t.offset * elem, numel * elem, st.text});
  }
}

struct Zip {
  zip_t* z = nullptr;
  ~Zip() {
    if (z) zip_discard(z);
  }
};

void open_zip(Zip& zip, const std::string& path) {
  int err = 0;
  zip.z = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (!zip.z) {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    const std::string msg = zip_error_strerror(&e);
    zip_error_fini(&e);
    bad(path, "not a readable zip archive: " + msg);
  }
}

// Reads exactly `size` bytes of entry `index` into dst (the declared size was checked before, so a
// deflate bomb cannot expand past it).
void read_entry(zip_t* z, zip_uint64_t index, uint64_t size, const std::string& path, const std::string& name, void* dst) {
  zip_file_t* f = zip_fopen_index(z, index, 0);
  if (!f) bad(path, "cannot open zip entry " + name + ": " + zip_strerror(z));
  const zip_int64_t got = size ? zip_fread(f, dst, size) : 0;
  char extra;
  const zip_int64_t more = zip_fread(f, &extra, 1);  // also makes libzip check the CRC
  zip_fclose(f);
  if (got != static_cast<zip_int64_t>(size) || more != 0) bad(path, "zip entry " + name + " is shorter, longer or corrupt");
}

TorchCheckpoint read_zip(const std::string& path) {
  Zip zip;
  open_zip(zip, path);
  const zip_int64_t n = zip_get_num_entries(zip.z, 0);
  std::map<std::string, zip_stat_t> entries;
  std::string pkl;
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    if (zip_stat_index(zip.z, static_cast<zip_uint64_t>(i), 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME) || !(st.valid & ZIP_STAT_SIZE))
      bad(path, fmt::format("zip entry {} has no name or size", i));
    const std::string name = st.name;
    if (name.empty() || name[0] == '/' || name.find('\\') != std::string::npos || ("/" + name + "/").find("/../") != std::string::npos)
      bad(path, "zip entry name '" + name + "' is absolute or leaves the archive");
    if (name.ends_with("/data.pkl") && std::count(name.begin(), name.end(), '/') == 1) {
      if (!pkl.empty()) bad(path, "two data.pkl entries");
      pkl = name;
    }
    entries[name] = st;
  }
  if (pkl.empty()) bad(path, "zip archive without <name>/data.pkl: not a torch.save checkpoint");
  const zip_stat_t& ps = entries[pkl];
  if (ps.size > kMaxPickle) bad(path, fmt::format("{} is {} bytes (limit {})", pkl, ps.size, kMaxPickle));
  std::string data(ps.size, '\0');
  read_entry(zip.z, ps.index, ps.size, path, pkl, data.data());

  TorchCheckpoint out;
  out.format = "torch zip";
  const Pickle p = read_pickle(data, path + ": " + pkl);
  std::map<std::string, StorageInfo> storages;
  collect_tensors(p, find_state_dict(p, out, path), storages, path, out);
  const std::string prefix = pkl.substr(0, pkl.size() - std::strlen("data.pkl"));
  for (auto& [key, s] : storages) {
    const std::string entry = prefix + "data/" + key;
    auto it = entries.find(entry);
    if (it == entries.end()) bad(path, "storage '" + key + "' has no zip entry " + entry);
    const uint64_t expected = s.numel * dtype_info(s.dtype).block_bytes;
    if (it->second.size != expected)
      bad(path, fmt::format("zip entry {} is {} bytes; its storage needs {} ({} × {})", entry, it->second.size, expected,
                            s.numel, dtype_info(s.dtype).torch_name));
    s.archive_entry = entry;
  }
  for (auto& t : out.tensors) {
    t.file = path;
    t.archive_entry = storages.at(t.archive_entry).archive_entry;
  }
  return out;
}

// Legacy: pickles of the magic number, protocol version and system info, the object pickle, the
// list of storage keys, then per key an 8-byte element count and the raw elements.
TorchCheckpoint read_legacy(const std::string& path) {
  FileReader file(path);
  static const unsigned char magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                        0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
  unsigned char head[sizeof magic] = {};
  if (file.size() < sizeof magic) bad(path, "too short for a legacy torch checkpoint");
  file.read_at(0, head, sizeof head, "magic number");
  if (std::memcmp(head, magic, sizeof magic) != 0) bad(path, "legacy torch checkpoint without torch's magic number");
  std::string buf;
  uint64_t pos = sizeof magic;
  // Pickles are read from a prefix that grows until they parse (they are small; the data is not).
  auto next_pickle = [&](const char* what) {
    for (uint64_t want = 1 << 16;; want *= 4) {
      const uint64_t n = std::min<uint64_t>({want, file.size() - pos, kMaxPickle});
      buf.resize(n);
      file.read_at(pos, buf.data(), n, what);
      size_t used = 0;
      bool ran_out = false;
      try {
        Pickle p = read_pickle(buf, path + ": " + what, &used, &ran_out);
        pos += used;
        return p;
      } catch (const Error&) {
        if (!ran_out || n == file.size() - pos || n == kMaxPickle) throw;
      }
    }
  };
  next_pickle("protocol version pickle");
  next_pickle("system info pickle");
  TorchCheckpoint out;
  out.format = "torch legacy";
  const Pickle p = next_pickle("object pickle");
  std::map<std::string, StorageInfo> storages;
  collect_tensors(p, find_state_dict(p, out, path), storages, path, out);
  const Pickle keys = next_pickle("storage key list");
  const PickleValue& list = keys.at(keys.root);
  if (list.kind != Kind::list) bad(path, "storage key list is not a list");
  for (uint32_t k : list.items) {
    const PickleValue& key = keys.at(k);
    if (key.kind != Kind::string) bad(path, "storage key is not a string");
    uint64_t numel = 0;
    file.read_at(pos, &numel, 8, "storage size");
    auto it = storages.find(key.text);
    const DType dtype = it != storages.end() ? it->second.dtype : DType::U8;
    if (it != storages.end() && numel != it->second.numel)
      bad(path, fmt::format("storage '{}' holds {} elements; the object pickle says {}", key.text, numel, it->second.numel));
    const uint64_t bytes = numel * dtype_info(dtype).block_bytes;
    if (numel > file.size() || bytes > file.size() - pos - 8)
      bad(path, fmt::format("storage '{}' ({} bytes) runs past the end of the file", key.text, bytes));
    if (it != storages.end()) it->second.offset = pos + 8, it->second.located = true;
    pos += 8 + bytes;
  }
  for (auto& t : out.tensors) {
    const StorageInfo& s = storages.at(t.archive_entry);
    if (!s.located) bad(path, "storage '" + t.archive_entry + "' is missing from the file");
    t.file = path;
    t.offset += s.offset;
    t.archive_entry.clear();
  }
  return out;
}

}  // namespace

bool is_torch_checkpoint_name(const std::string& path) {
  for (const char* ext : {".pt", ".pth", ".bin", ".ckpt"})
    if (path.ends_with(ext)) return true;
  return false;
}

TorchCheckpoint read_torch_checkpoint(const std::string& path) {
  FileReader file(path);
  char head[4] = {};
  file.read_at(0, head, std::min<uint64_t>(4, file.size()), "file header");
  if (std::memcmp(head, "PK\x03\x04", 4) == 0) return read_zip(path);
  if (static_cast<unsigned char>(head[0]) == 0x80) return read_legacy(path);
  bad(path, "neither a torch.save zip archive nor a legacy torch checkpoint (first bytes)");
}

std::shared_ptr<Storage> read_torch_storage(const std::string& path, const std::string& entry) {
  Zip zip;
  open_zip(zip, path);
  const zip_int64_t index = zip_name_locate(zip.z, entry.c_str(), ZIP_FL_ENC_RAW);
  if (index < 0) bad(path, "zip entry " + entry + " disappeared");
  zip_stat_t st;
  if (zip_stat_index(zip.z, static_cast<zip_uint64_t>(index), 0, &st) != 0) bad(path, "zip entry " + entry + " unreadable");
  auto storage = std::make_shared<HeapStorage>(st.size);
  read_entry(zip.z, static_cast<zip_uint64_t>(index), st.size, path, entry, storage->data());
  return storage;
}

}  // namespace anatomy::io
