#include "io/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/json.h"
#include "io/shard_index.h"

namespace anatomy::io {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void bad(const std::string& file, const std::string& field, const std::string& msg) {
  fail_at(ErrorKind::format, file, field, msg);
}

uint64_t read_u64_le(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

TensorEntry parse_entry(const std::string& file, const std::string& name, const json& v) {
  if (name.empty()) bad(file, "tensor ''", "empty tensor name");
  if (name.find('\0') != std::string::npos) bad(file, "tensor name", "contains a NUL byte");
  const std::string field = "tensor '" + name + "'";
  if (!v.is_object()) bad(file, field, "entry is not an object");
  for (const auto& [key, _] : v.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      bad(file, field + "." + key, "unknown field");
  if (!v.contains("dtype") || !v["dtype"].is_string()) bad(file, field + ".dtype", "missing");
  const auto dtype_s = v["dtype"].get<std::string>();
  const auto dtype = dtype_from_safetensors(dtype_s);
  if (!dtype) bad(file, field + ".dtype", "unknown dtype '" + dtype_s + "'");
  if (!v.contains("shape") || !v["shape"].is_array()) bad(file, field + ".shape", "missing");
  Shape shape;
  for (const auto& d : v["shape"]) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > (uint64_t{1} << 62))
      bad(file, field + ".shape", "dimension " + d.dump() + " is not an integer in [0, 2^62]");
    shape.push_back(d.get<int64_t>());
  }
  const auto& offs = v.contains("data_offsets") ? v["data_offsets"] : json();
  if (!offs.is_array() || offs.size() != 2 || !offs[0].is_number_unsigned() ||
      !offs[1].is_number_unsigned())
    bad(file, field + ".data_offsets", "must be two non-negative integers, got " + offs.dump());
  const auto begin = offs[0].get<uint64_t>(), end = offs[1].get<uint64_t>();
  if (end < begin) bad(file, field + ".data_offsets", "end " + std::to_string(end) +
                                                          " is before begin " +
                                                          std::to_string(begin));
  const auto numel = shape_numel(shape);
  const auto expected = numel ? dtype_bytes(*dtype, *numel) : std::nullopt;
  if (!expected) bad(file, field + ".shape", shape_str(shape) + " overflows");
  if (*expected != end - begin)
    bad(file, field + ".data_offsets",
        "holds " + std::to_string(end - begin) + " bytes but shape " + shape_str(shape) + " of " +
            dtype_s + " needs " + std::to_string(*expected));
  TensorEntry e;
  e.name = name;
  e.dtype = *dtype;
  e.shape = std::move(shape);
  e.file = file;
  e.offset = begin;  // relative until the header length is known
  e.nbytes = end - begin;
  return e;
}

}  // namespace

SafetensorsFile read_safetensors(const std::string& path) {
  FileReader reader(path);
  SafetensorsFile out;
  out.path = path;
  out.file_size = reader.size();
  if (reader.size() < 8)
    bad(path, "header length", "file has " + std::to_string(reader.size()) +
                                   " bytes, fewer than the 8-byte header length");
  unsigned char len_bytes[8];
  reader.read_at(0, len_bytes, 8, "header length");
  const uint64_t n = read_u64_le(len_bytes);
  if (n < 2) bad(path, "header length", std::to_string(n) + " is too small for a JSON object");
  if (n > kSafetensorsMaxHeader)
    bad(path, "header length", std::to_string(n) + " exceeds the limit of " +
                                   std::to_string(kSafetensorsMaxHeader));
  if (n > reader.size() - 8)
    bad(path, "header length", std::to_string(n) + " is beyond the end of the file (" +
                                   std::to_string(reader.size()) + " bytes)");
  std::string text(n, '\0');
  reader.read_at(8, text.data(), n, "header");
  out.header_bytes = 8 + n;

  JsonOptions options;
  options.max_bytes = kSafetensorsMaxHeader;
  const json header = parse_json(text, path, options);
  if (!header.is_object()) bad(path, "header", "is not a JSON object");
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) bad(path, "__metadata__", "is not an object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) bad(path, "__metadata__." + mk, "value is not a string");
        out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    out.tensors.push_back(parse_entry(path, key, value));
  }

  // Data must tile [0, data_size) exactly: sorted by offset, no gap, no overlap, no trailing bytes.
  std::sort(out.tensors.begin(), out.tensors.end(),
            [](const TensorEntry& a, const TensorEntry& b) {
              return a.offset != b.offset ? a.offset < b.offset : a.nbytes < b.nbytes;
            });
  const uint64_t data_size = reader.size() - out.header_bytes;
  uint64_t cursor = 0;
  for (auto& t : out.tensors) {
    const std::string field = "tensor '" + t.name + "'.data_offsets";
    if (t.offset < cursor) bad(path, field, "overlaps the previous tensor");
    if (t.offset > cursor)
      bad(path, field, "leaves a gap of " + std::to_string(t.offset - cursor) + " bytes");
    if (t.nbytes > data_size - cursor)
      bad(path, field, "ends at " + std::to_string(t.offset + t.nbytes) +
                           ", past the end of the data (" + std::to_string(data_size) + " bytes)");
    cursor += t.nbytes;
    t.offset += out.header_bytes;
  }
  if (cursor != data_size)
    bad(path, "data", std::to_string(data_size - cursor) + " trailing bytes after the last tensor");
  return out;
}

std::vector<SafetensorsFile> read_safetensors_index(const std::string& index_path) {
  std::vector<SafetensorsFile> shards;
  read_shard_index(index_path, [&](const std::string& path) -> const std::vector<TensorEntry>& {
    shards.push_back(read_safetensors(path));
    return shards.back().tensors;
  });
  return shards;
}

namespace {

void write_file(const std::string& path, const NamedTensors& tensors,
                const std::map<std::string, std::string>& metadata) {
  ordered_json header = ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (t.is_meta()) fail(ErrorKind::internal, "cannot write meta tensor '" + name + "'");
    if (!t.is_contiguous()) fail(ErrorKind::internal, "cannot write non-contiguous '" + name + "'");
    header[name] = {{"dtype", dtype_name(t.dtype())},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep tensor data 8-byte aligned
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(ErrorKind::io, tmp + ": cannot create");
    unsigned char len[8];
    uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& [name, t] : tensors)
      out.write(reinterpret_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
    if (!out.flush()) {
      std::remove(tmp.c_str());
      fail(ErrorKind::io, tmp + ": write failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail(ErrorKind::io, path + ": cannot rename " + tmp);
  }
}

}  // namespace

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::set<std::string> names;
  for (const auto& [name, t] : tensors)
    if (!names.insert(name).second) fail(ErrorKind::internal, "duplicate tensor '" + name + "'");
  write_file(path, tensors, metadata.empty() ? std::map<std::string, std::string>{{"format", "pt"}}
                                             : metadata);
}

void write_safetensors_sharded(const std::string& dir, const NamedTensors& tensors,
                               uint64_t max_shard_bytes) {
  std::vector<NamedTensors> shards(1);
  uint64_t bytes = 0;
  for (const auto& nt : tensors) {
    if (!shards.back().empty() && bytes + nt.second.nbytes() > max_shard_bytes) {
      shards.emplace_back();
      bytes = 0;
    }
    shards.back().push_back(nt);
    bytes += nt.second.nbytes();
  }
  fs::create_directories(dir);
  ordered_json index;
  uint64_t total = 0;
  for (const auto& nt : tensors) total += nt.second.nbytes();
  index["metadata"] = {{"total_size", total}};
  index["weight_map"] = ordered_json::object();
  char name[64];
  for (size_t i = 0; i < shards.size(); ++i) {
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    write_safetensors((fs::path(dir) / name).string(), shards[i]);
    for (const auto& nt : shards[i]) index["weight_map"][nt.first] = name;
  }
  std::ofstream out(fs::path(dir) / "model.safetensors.index.json");
  out << index.dump(2) << "\n";
  if (!out) fail(ErrorKind::io, dir + ": cannot write model.safetensors.index.json");
}

}  // namespace anatomy::io
