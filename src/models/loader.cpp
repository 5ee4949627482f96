#include "models/loader.h"

#include <filesystem>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/safetensors.h"
#include "io/shard_index.h"
#include "io/torch_checkpoint.h"
#include "core/suggest.h"
#include "models/catalog.h"
#include "models/registry.h"

namespace anatomy::models {
namespace fs = std::filesystem;
namespace {


io::JsonOptions config_options() {
  io::JsonOptions o;
  o.allow_python_constants = true;
  return o;
}

void load_config(LoadedModel& out, const std::string& path) {
  out.config_file = path;
  out.config_json = io::load_json_file(path, config_options());
  out.model = build_model(out.config_json, path);
}

void add_safetensors(LoadedModel& out, const io::SafetensorsFile& f) {
  out.stored.insert(out.stored.end(), f.tensors.begin(), f.tensors.end());
  out.file_bytes += f.file_size;
  out.header_bytes_read += f.header_bytes;
}

void load_safetensors(LoadedModel& out, const std::string& file, const std::string& config) {
  if (!fs::exists(config))
    fail(ErrorKind::config, file + ": no config.json beside it, so its architecture is unknown");
  load_config(out, config);
  out.format = "safetensors";
  add_safetensors(out, io::read_safetensors(file));
}

void load_sharded(LoadedModel& out, const std::string& index, const std::string& config) {
  if (!fs::exists(config))
    fail(ErrorKind::config, index + ": no config.json beside it, so its architecture is unknown");
  load_config(out, config);
  const auto shards = io::read_safetensors_index(index);
  out.format = fmt::format("safetensors, {} shard{}", shards.size(), shards.size() == 1 ? "" : "s");
  for (const auto& s : shards) add_safetensors(out, s);
}

void load_gguf(LoadedModel& out, const std::string& path) {
  io::GgufFile f = io::read_gguf(path);
  json config;
  try {
    config = io::gguf_to_hf_config(f);
  } catch (Error& e) {
    throw e.with_context(path);
  }
  out.config_file = path + " (GGUF metadata)";
  out.config_json = config;
  out.model = build_model(config, out.config_file);
  out.format = fmt::format("gguf v{}", f.version);
  out.gguf_architecture = f.architecture();
  out.stored = std::move(f.tensors);
  out.file_bytes = fs::file_size(path);
  out.header_bytes_read = f.data_offset;
}

void add_torch(LoadedModel& out, const io::TorchCheckpoint& c) {
  out.stored.insert(out.stored.end(), c.tensors.begin(), c.tensors.end());
}

// A torch.save checkpoint: nanoGPT's ckpt.pt carries its config (model_args); other layouts
// need the config.json beside them.
void load_torch(LoadedModel& out, const std::string& file) {
  io::TorchCheckpoint c = io::read_torch_checkpoint(file);
  const std::string config = (fs::path(file).parent_path() / "config.json").string();
  if (!c.model_args.is_null() && !fs::exists(config)) {
    json args = c.model_args;
    args["model_type"] = "nanogpt";
    out.config_file = file + " (model_args)";
    out.config_json = args;
    out.model = build_model(args, out.config_file);
  } else if (fs::exists(config)) {
    load_config(out, config);
  } else {
    fail(ErrorKind::config, file + ": no config.json beside it and no model_args inside, so its architecture is unknown");
  }
  out.format = c.format + ", " + c.layout;
  out.file_bytes = fs::file_size(file);
  add_torch(out, c);
}

void load_torch_sharded(LoadedModel& out, const std::string& index, const std::string& config) {
  if (!fs::exists(config))
    fail(ErrorKind::config, index + ": no config.json beside it, so its architecture is unknown");
  load_config(out, config);
  std::vector<io::TorchCheckpoint> shards;
  io::read_shard_index(index, [&](const std::string& path) -> const std::vector<io::TensorEntry>& {
    shards.push_back(io::read_torch_checkpoint(path));
    out.file_bytes += fs::file_size(path);
    return shards.back().tensors;
  });
  out.format = fmt::format("torch, {} shard{}", shards.size(), shards.size() == 1 ? "" : "s");
  for (const auto& s : shards) add_torch(out, s);
}

// A model folder: config.json plus sharded or single safetensors, or a single GGUF, or PyTorch
// pytorch_model.bin (+ index) when there is no safetensors.
void load_folder(LoadedModel& out, const fs::path& dir) {
  const auto config = (dir / "config.json").string();
  if (fs::exists(dir / "model.safetensors.index.json"))
    return load_sharded(out, (dir / "model.safetensors.index.json").string(), config);
  // Hugging Face's name for the weights wins over other safetensors beside it (a training
  // checkpoint keeps optimizer.safetensors there).
  if (fs::exists(dir / "model.safetensors")) return load_safetensors(out, (dir / "model.safetensors").string(), config);
  std::vector<fs::path> st, gguf;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".safetensors") st.push_back(e.path());
    if (e.path().extension() == ".gguf") gguf.push_back(e.path());
  }
  if (st.size() == 1) return load_safetensors(out, st[0].string(), config);
  if (st.size() > 1)
    fail(ErrorKind::format, dir.string() + ": several .safetensors files but no model.safetensors.index.json");
  if (gguf.size() == 1 && !fs::exists(config)) return load_gguf(out, gguf[0].string());
  if (fs::exists(dir / "pytorch_model.bin.index.json"))
    return load_torch_sharded(out, (dir / "pytorch_model.bin.index.json").string(), config);
  if (fs::exists(dir / "pytorch_model.bin")) return load_torch(out, (dir / "pytorch_model.bin").string());
  if (!fs::exists(config)) fail(ErrorKind::io, dir.string() + ": no config.json, safetensors or GGUF file in it");
  load_config(out, config);
  out.format = "config.json";
}

bool shape_matches(const Shape& stored, const Shape& expected, io::GgufNameMapping::Layout layout) {
  using L = io::GgufNameMapping::Layout;
  if (layout == L::transposed) return stored.size() == 2 && expected.size() == 2 &&
                                      stored[0] == expected[1] && stored[1] == expected[0];
  if (layout == L::reshaped || layout == L::neg_exp) return shape_numel(stored) == shape_numel(expected);
  return stored == expected;
}

std::string list(const std::vector<std::string>& items) {
  std::string s;
  const size_t shown = std::min<size_t>(items.size(), 8);
  for (size_t i = 0; i < shown; ++i) s += (i ? ", " : "") + items[i];
  if (items.size() > shown) s += fmt::format(", … {} more", items.size() - shown);
  return s;
}

}  // namespace

void bind_checkpoint(LoadedModel& out, const std::string& gguf_arch) {
  std::map<std::string, nn::ParamRef> by_path;
  for (auto& ref : nn::all_parameter_paths(*out.model.root)) by_path.emplace(ref.path, ref);
  const Family& family = family_named(out.model.model_type);

  std::vector<std::string> unexpected, wrong_shape, missing;
  std::set<const nn::Parameter*> misshapen;
  for (const auto& t : out.stored) {
    std::string name = t.name;
    auto layout = io::GgufNameMapping::Layout::same;
    if (!gguf_arch.empty()) {
      const auto mapped = io::gguf_to_hf_name(gguf_arch, t.name);
      if (!mapped) continue;  // not a parameter (e.g. rope_freqs)
      name = mapped->hf_name;
      layout = mapped->layout;
    } else if (family.checkpoint_name) {
      name = family.checkpoint_name(t.name);
      if (name.empty()) continue;  // a buffer such as GPT-2's attn.bias
    }
    auto it = by_path.find(name);
    if (it == by_path.end()) {
      unexpected.push_back(t.name);
      continue;
    }
    const auto& param = it->second.param;
    if (!shape_matches(t.shape, param->value.shape(), layout)) {
      wrong_shape.push_back(fmt::format("{} {} (expected {})", t.name, shape_str(t.shape), shape_str(param->value.shape())));
      misshapen.insert(param.get());
      continue;
    }
    out.binding[param.get()] = &t;
  }
  for (const auto& ref : nn::parameter_slots(*out.model.root))
    if (!out.binding.count(ref.param.get()) && !misshapen.count(ref.param.get())) missing.push_back(ref.path);
  if (!missing.empty() || !unexpected.empty() || !wrong_shape.empty()) {
    std::string msg = fmt::format("tensors do not match {} ({})", out.model.architecture, out.model.model_type);
    if (!missing.empty()) msg += fmt::format("; missing {}: {}", missing.size(), list(missing));
    if (!unexpected.empty()) msg += fmt::format("; unexpected {}: {}", unexpected.size(), list(unexpected));
    if (!wrong_shape.empty()) msg += fmt::format("; wrong shape {}: {}", wrong_shape.size(), list(wrong_shape));
    fail(ErrorKind::format, out.source + ": " + msg);
  }
  // Parameters take the dtype they are stored in (block-quantized GGUF types included).
  for (auto& [param, entry] : out.binding) param->value = Tensor::meta(entry->dtype, param->value.shape());
}

namespace {

// A GGUF tensor in llama.cpp's layout (q/k rows interleaved for its RoPE, GPT-2's projections
// transposed, Mamba's A = -exp(A_log)) is converted to Hugging Face's in memory, so that one file
// runs in both engines; the others stay mapped.
Tensor in_hf_layout(const LoadedModel& out, const io::TensorEntry& entry, const std::shared_ptr<Storage>& storage, const Shape& hf_shape) {
  using L = io::GgufNameMapping::Layout;
  const auto mapped = out.gguf_architecture.empty() ? std::nullopt : io::gguf_to_hf_name(out.gguf_architecture, entry.name);
  if (!mapped || mapped->layout == L::same || mapped->layout == L::reshaped) return Tensor::view(storage, 0, entry.dtype, hf_shape);
  const bool is_k = mapped->hf_name.find("k_proj") != std::string::npos;
  const char* heads = is_k ? "num_key_value_heads" : "num_attention_heads";
  const int64_t rope_heads = out.model.config.contains(heads) ? out.model.config[heads].get<int64_t>() : 1;
  return io::from_gguf_layout(Tensor::view(storage, 0, entry.dtype, entry.shape), mapped->layout, rope_heads, hf_shape);
}

}  // namespace

void map_weights(LoadedModel& out) {
  std::map<std::string, std::shared_ptr<MappedFile>> files;
  std::map<std::string, std::shared_ptr<Storage>> archive_storages;
  for (auto& [param, entry] : out.binding) {
    if (is_quantized(entry->dtype))
      fail(ErrorKind::unsupported, out.source + ": tensor " + entry->name + " is " + dtype_name(entry->dtype) +
                                       "; running block-quantized weights is not supported yet");
    if (!entry->archive_entry.empty()) {
      // A storage of a torch zip checkpoint: read once, so tensors sharing it stay shared.
      auto& storage = archive_storages[entry->file + "\n" + entry->archive_entry];
      if (!storage) storage = io::read_torch_storage(entry->file, entry->archive_entry);
      param->value = Tensor::view(storage, entry->offset, entry->dtype, param->value.shape());
      continue;
    }
    auto& file = files[entry->file];
    if (!file) file = MappedFile::open(entry->file);
    auto storage = std::make_shared<MappedStorage>(file, entry->offset, entry->nbytes);
    param->value = in_hf_layout(out, *entry, storage, param->value.shape());
  }
}

LoadedModel load_model(const std::string& source) {
  LoadedModel out;
  out.source = source;
  std::error_code ec;
  const fs::path p(source);
  if (!fs::exists(p, ec)) {
    const CatalogEntry* entry = find_catalog(source);
    if (!entry) {
      std::vector<std::string> names;
      for (const auto& e : catalog()) names.push_back(e.name);
      fail(ErrorKind::io, source + ": no such file, folder or catalog model" + did_you_mean(source, names) +
                              " (`anatomy models` lists the catalog)");
    }
    out.format = "catalog";
    out.config_file = "catalog/" + source + ".json";
    out.config_json = entry->config;
    out.model = build_model(entry->config, out.config_file);
    return out;
  }
  if (fs::is_directory(p)) {
    load_folder(out, p);
  } else if (source.ends_with(".gguf")) {
    load_gguf(out, source);
  } else if (source.ends_with(".safetensors.index.json")) {
    load_sharded(out, source, (p.parent_path() / "config.json").string());
  } else if (source.ends_with(".safetensors")) {
    load_safetensors(out, source, (p.parent_path() / "config.json").string());
  } else if (source.ends_with(".bin.index.json")) {
    load_torch_sharded(out, source, (p.parent_path() / "config.json").string());
  } else if (io::is_torch_checkpoint_name(source)) {
    load_torch(out, source);
  } else if (source.ends_with(".json")) {
    load_config(out, source);
    out.format = "config.json";
  } else {
    fail(ErrorKind::unsupported, source + ": unknown file type (expected a folder, .safetensors, .gguf, .pt/.pth/.bin/.ckpt or config.json)");
  }
  if (out.has_weights()) bind_checkpoint(out, out.gguf_architecture);
  return out;
}

}  // namespace anatomy::models
