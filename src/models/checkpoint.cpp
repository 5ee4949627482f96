#include "models/checkpoint.h"

#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/half.h"
#include "core/text_file.h"

namespace anatomy::models {

namespace {

// A counter-based generator (splitmix64): element i of tensor j depends only on (seed, j, i), so
// the fill runs in parallel and a 9B-parameter model is generated in seconds, deterministically.
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Uniform in [-scale, scale), or all ones (norm scales); one loop per storage type so that the
// loop has no dtype branch and vectorises.
template <class T, class Convert>
void fill_as(T* out, int64_t n, uint64_t stream, float scale, bool ones, Convert convert) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t h = splitmix64(stream + static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull);
    out[i] = convert(ones ? 1.0f : (static_cast<float>(h >> 40) * (2.0f / 16777216.0f) - 1.0f) * scale);
  }
}

void fill(Tensor& t, uint64_t stream, float scale, bool ones) {
  const auto n = static_cast<int64_t>(t.numel());
  auto* half = reinterpret_cast<uint16_t*>(t.raw());
  if (t.dtype() == DType::F32)
    fill_as(reinterpret_cast<float*>(t.raw()), n, stream, scale, ones, [](float v) { return v; });
  else if (t.dtype() == DType::BF16)
    fill_as(half, n, stream, scale, ones, [](float v) { return f32_to_bf16(v); });
  else
    fill_as(half, n, stream, scale, ones, [](float v) { return f32_to_f16(v); });
}

// Calls f(slot) once per unique parameter, in state_dict order (tied and shared slots after the
// first are skipped), reporting progress as `what`.
template <class F>
void each_unique(const Model& model, Progress& progress, const std::string& what, F&& f) {
  std::set<const nn::Parameter*> done;
  const auto slots = nn::parameter_slots(*model.root);
  ProgressTask task(progress, what, slots.size());
  for (const auto& ref : slots) {
    task.update(done.size());
    if (done.insert(ref.param.get()).second) f(ref);
  }
}

bool is_float(DType d) { return d == DType::F32 || d == DType::BF16 || d == DType::F16; }

}  // namespace

Tensor converted(const Tensor& from, DType dtype) {
  Tensor t = Tensor::empty(dtype, from.shape());
  const auto n = static_cast<int64_t>(t.numel());
  auto* f32 = reinterpret_cast<float*>(t.raw());
  auto* half = reinterpret_cast<uint16_t*>(t.raw());
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    const float v = element_f32(from, static_cast<uint64_t>(i));
    if (dtype == DType::F32) f32[i] = v;
    else half[i] = dtype == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
  }
  return t;
}

namespace {

// The bound weights named canonically; F32/BF16/F16 ones converted to `dtype` when given.
io::NamedTensors weights_as(const Model& model, std::optional<DType> dtype, Progress& progress) {
  io::NamedTensors out;
  each_unique(model, progress, "converting weights", [&](const nn::ParamRef& ref) {
    const Tensor& from = ref.param->value;
    if (from.is_meta()) fail(ErrorKind::internal, "cast_weights: " + ref.path + " has no data");
    if (!dtype || !is_float(from.dtype()) || from.dtype() == *dtype) {
      out.emplace_back(ref.path, from);
      return;
    }
    out.emplace_back(ref.path, converted(from, *dtype));
  });
  return out;
}

}  // namespace

io::NamedTensors synthetic_weights(const Model& model, uint64_t seed, DType dtype, float scale, Progress& progress) {
  if (dtype != DType::F32 && dtype != DType::BF16 && dtype != DType::F16)
    fail(ErrorKind::unsupported, std::string("synthetic weights in ") + dtype_name(dtype) + " (F32, BF16, F16)");
  io::NamedTensors out;
  each_unique(model, progress, "generating synthetic weights", [&](const nn::ParamRef& ref) {
    Tensor t = Tensor::empty(dtype, ref.param->value.shape());
    // Norm scales start at 1 as in every HF initialiser; the rest is small noise.
    const bool is_norm = ref.owner->type().find("Norm") != std::string::npos && ref.path.ends_with("weight");
    fill(t, splitmix64(seed) ^ splitmix64(~static_cast<uint64_t>(out.size())), scale, is_norm);
    out.emplace_back(ref.path, std::move(t));
  });
  return out;
}

void upload_weights(const Model& model, const backend::Backend& backend, Progress& progress) {
  if (backend.device() == Device::cpu) return;
  each_unique(model, progress, fmt::format("uploading weights to {}", device_name(backend.device())),
              [&](const nn::ParamRef& ref) {
                if (ref.param->value.is_meta()) fail(ErrorKind::internal, "upload_weights: " + ref.path + " has no data");
                ref.param->value = backend.upload(ref.param->value);
              });
}

io::NamedTensors cast_weights(const Model& model, DType dtype, Progress& progress) {
  if (!is_float(dtype)) fail(ErrorKind::unsupported, std::string("weights cast to ") + dtype_name(dtype) + " (F32, BF16, F16)");
  return weights_as(model, dtype, progress);
}

io::NamedTensors bound_weights(const Model& model) { return weights_as(model, std::nullopt, silent_progress()); }

void bind_weights(const Model& model, const io::NamedTensors& weights) {
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [name, t] : weights) by_name[name] = &t;
  for (const auto& ref : nn::parameter_slots(*model.root)) {
    auto it = by_name.find(ref.path);
    if (it == by_name.end()) continue;  // a tied slot: bound through its canonical name
    if (it->second->shape() != ref.param->value.shape())
      fail(ErrorKind::shape, "weight " + ref.path + " " + shape_str(it->second->shape()) + " for a parameter of shape " +
                                 shape_str(ref.param->value.shape()));
    ref.param->value = *it->second;
  }
}

void freeze_weights(const Model& model) {
  for (const auto& ref : nn::parameter_slots(*model.root))
    if (ref.param->value.storage()) ref.param->value.storage()->freeze();
}

void write_checkpoint(const std::string& dir, const json& config, const io::NamedTensors& weights,
                      uint64_t max_shard_bytes) {
  std::filesystem::create_directories(dir);
  if (max_shard_bytes > 0) io::write_safetensors_sharded(dir, weights, max_shard_bytes);
  else io::write_safetensors(dir + "/model.safetensors", weights);
  write_text_file(dir + "/config.json", config.dump(2) + "\n");
}

}  // namespace anatomy::models
