#include "train/init.h"

#include <cmath>
#include <random>
#include <set>

namespace anatomy::train {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool is_norm(const std::string& name) {
  for (const char* part : {"norm", "ln_", "layernorm", "gamma"})
    if (name.find(part) != std::string::npos) return true;
  return false;
}

bool is_residual_output(const std::string& name) {
  for (const char* part : {".c_proj.weight", ".o_proj.weight", ".down_proj.weight", ".out_proj.weight",
                           ".w_concat.weight", ".linear2.weight"})
    if (ends_with(name, part)) return true;
  return false;
}

void fill(Tensor& t, const std::function<float(int64_t)>& f) {
  for (int64_t i = 0; i < static_cast<int64_t>(t.numel()); ++i) t.data<float>()[i] = f(i);
}

}  // namespace

io::NamedTensors initial_weights(const models::Model& model, int64_t layers, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  const float residual = 0.02f / std::sqrt(2.0f * static_cast<float>(std::max<int64_t>(1, layers)));
  io::NamedTensors out;
  std::set<const nn::Parameter*> seen;
  for (const nn::ParamRef& ref : nn::parameter_slots(*model.root)) {
    if (!seen.insert(ref.param.get()).second) continue;
    const std::string& n = ref.path;
    Tensor t = Tensor::empty(DType::F32, ref.param->value.shape());
    const auto rank = t.shape().size();
    if (ends_with(n, "A_log")) {
      fill(t, [](int64_t i) { return std::log(static_cast<float>(i + 1)); });
    } else if (ends_with(n, ".D")) {
      fill(t, [](int64_t) { return 1.0f; });
    } else if (ends_with(n, "dt_bias")) {
      fill(t, [&](int64_t) {
        const float dt = std::max(1e-4f, std::exp(uniform(rng) * (std::log(0.1f) - std::log(0.001f)) + std::log(0.001f)));
        return dt + std::log(-std::expm1(-dt));  // softplus⁻¹(dt)
      });
    } else if (ends_with(n, "conv1d.weight")) {
      const float bound = 1.0f / std::sqrt(static_cast<float>(t.dim(-1)));
      fill(t, [&](int64_t) { return (2 * uniform(rng) - 1) * bound; });
    } else if (rank == 1) {  // norm scales 1, their shifts and every bias 0
      const bool scale = is_norm(n) && (ends_with(n, ".weight") || ends_with(n, ".gamma"));
      fill(t, [&](int64_t) { return scale ? 1.0f : 0.0f; });
    } else {
      const float sd = is_residual_output(n) ? residual : 0.02f;
      fill(t, [&](int64_t) { return sd * normal(rng); });
    }
    out.emplace_back(n, std::move(t));
  }
  return out;
}

}  // namespace anatomy::train
