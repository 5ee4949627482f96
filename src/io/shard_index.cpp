#include "io/shard_index.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "io/json.h"

namespace anatomy::io {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void bad(const std::string& file, const std::string& field, const std::string& msg) {
  fail_at(ErrorKind::format, file, field, msg);
}

}  // namespace

void read_shard_index(const std::string& index_path, const ShardReader& read_shard) {
  const json index = load_json_file(index_path);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    bad(index_path, "weight_map", "missing or not an object");
  const fs::path dir = fs::weakly_canonical(fs::absolute(index_path)).parent_path();

  std::map<std::string, std::string> tensor_to_shard;
  std::vector<std::string> shard_order;
  for (const auto& [name, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) bad(index_path, "weight_map." + name, "shard is not a string");
    const auto s = shard.get<std::string>();
    const fs::path rel(s);
    if (s.empty() || rel.is_absolute() || s.find('\0') != std::string::npos)
      bad(index_path, "weight_map." + name, "shard path '" + s + "' is not a relative file name");
    for (const auto& part : rel)
      if (part == "..") bad(index_path, "weight_map." + name, "shard path '" + s + "' leaves the folder");
    tensor_to_shard[name] = s;
    if (std::find(shard_order.begin(), shard_order.end(), s) == shard_order.end())
      shard_order.push_back(s);
  }

  std::map<std::string, std::string> seen;  // tensor -> shard it was found in
  for (const auto& s : shard_order) {
    const fs::path p = dir / s;
    std::error_code ec;
    const fs::path real = fs::canonical(p, ec);
    if (ec) bad(index_path, "shard '" + s + "'", "missing (" + p.string() + ")");
    const auto rel = real.lexically_relative(dir);
    if (rel.empty() || *rel.begin() == "..")
      bad(index_path, "shard '" + s + "'", "resolves to " + real.string() + ", outside " + dir.string());
    for (const auto& t : read_shard(p.string())) {
      if (auto it = seen.find(t.name); it != seen.end())
        bad(index_path, "tensor '" + t.name + "'", "stored in two shards: " + it->second + " and " + s);
      seen[t.name] = s;
      auto m = tensor_to_shard.find(t.name);
      if (m == tensor_to_shard.end())
        bad(index_path, "tensor '" + t.name + "'", "is in shard " + s + " but not in weight_map");
      if (m->second != s)
        bad(index_path, "tensor '" + t.name + "'", "weight_map says " + m->second + " but it is in " + s);
    }
  }
  for (const auto& [name, shard] : tensor_to_shard)
    if (!seen.count(name))
      bad(index_path, "weight_map." + name, "not found in shard " + shard);
}

}  // namespace anatomy::io
