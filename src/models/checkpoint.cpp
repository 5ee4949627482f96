#include "models/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "core/error.h"
#include "core/half.h"

namespace anatomy::models {

io::NamedTensors synthetic_weights(const Model& model, uint64_t seed, DType dtype, float scale) {
  if (dtype != DType::F32 && dtype != DType::BF16 && dtype != DType::F16)
    fail(ErrorKind::unsupported, std::string("synthetic weights in ") + dtype_name(dtype) + " (F32, BF16, F16)");
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  io::NamedTensors out;
  std::set<const nn::Parameter*> done;
  for (const auto& ref : nn::parameter_slots(*model.root)) {
    if (!done.insert(ref.param.get()).second) continue;
    Tensor t = Tensor::empty(dtype, ref.param->value.shape());
    // Norm scales start at 1 as in every HF initialiser; the rest is small noise.
    const bool is_norm = ref.owner->type().find("Norm") != std::string::npos && ref.path.ends_with("weight");
    const uint64_t n = t.numel();
    auto* f32 = reinterpret_cast<float*>(t.raw());
    auto* f16 = reinterpret_cast<uint16_t*>(t.raw());
    for (uint64_t i = 0; i < n; ++i) {
      const float v = is_norm ? 1.0f : dist(rng);
      if (dtype == DType::F32) f32[i] = v;
      else f16[i] = dtype == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
    }
    out.emplace_back(ref.path, std::move(t));
  }
  return out;
}

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

void write_checkpoint(const std::string& dir, const json& config, const io::NamedTensors& weights,
                      uint64_t max_shard_bytes) {
  std::filesystem::create_directories(dir);
  if (max_shard_bytes > 0) io::write_safetensors_sharded(dir, weights, max_shard_bytes);
  else io::write_safetensors(dir + "/model.safetensors", weights);
  std::ofstream out(dir + "/config.json");
  out << config.dump(2) << "\n";
  if (!out) fail(ErrorKind::io, dir + "/config.json: cannot write");
}

}  // namespace anatomy::models
