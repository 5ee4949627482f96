#include "train/optimizer.h"

#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "core/error.h"

namespace anatomy::train {
namespace {

float* values(Trainable& p) { return p.param->value.data<float>(); }

// Moment buffers, one per parameter, saved as "<name>.<what>".
struct Moments {
  std::string what;
  std::vector<Tensor> buffers;
  void make(const std::vector<Trainable>& params) {
    for (const Trainable& p : params) buffers.push_back(Tensor::zeros(DType::F32, p.grad.shape()));
  }
  void save(const std::vector<std::string>& names, io::NamedTensors& out) const {
    for (size_t i = 0; i < buffers.size(); ++i) out.emplace_back(names[i] + "." + what, buffers[i]);
  }
  void load(const std::vector<std::string>& names, const io::NamedTensors& in, const std::string& file) {
    for (size_t i = 0; i < buffers.size(); ++i) {
      const std::string key = names[i] + "." + what;
      const Tensor* found = nullptr;
      for (const auto& [n, t] : in)
        if (n == key) found = &t;
      if (!found || found->shape() != buffers[i].shape() || found->dtype() != DType::F32)
        fail_at(ErrorKind::format, file, key, "missing, or not an F32 tensor of the parameter's shape");
      std::copy(found->data<float>(), found->data<float>() + found->numel(), buffers[i].data<float>());
    }
  }
};

std::vector<std::string> names_of(const std::vector<Trainable>& params) {
  std::vector<std::string> n;
  for (const Trainable& p : params) n.push_back(p.name);
  return n;
}

int64_t steps_in(const io::NamedTensors& state, const std::string& file) {
  for (const auto& [n, t] : state)
    if (n == "step" && t.dtype() == DType::I64 && t.numel() == 1) return t.data<int64_t>()[0];
  fail_at(ErrorKind::format, file, "step", "missing (an I64 scalar)");
}

Tensor step_tensor(int64_t step) {
  Tensor t = Tensor::empty(DType::I64, {1});
  t.data<int64_t>()[0] = step;
  return t;
}

// torch.optim.SGD: g += wd·p; buf = momentum·buf + g (buf = g on the first step);
// g = g + momentum·buf (Nesterov) or buf; p -= lr·g.
class Sgd final : public Optimizer {
 public:
  Sgd(const OptimizerConfig& c, const std::vector<Trainable>& params) : c_(c), names_(names_of(params)) {
    if (c.momentum > 0) momentum_.make(params);
  }
  void step(std::vector<Trainable>& params, double lr) override {
    for_each_chunk(chunks_of(params), [&](size_t, const Chunk& c) {
      Trainable& p = params[c.param];
      const double wd = p.decay ? c_.weight_decay : 0.0;
      float* w = values(p);
      const float* g = p.grad.data<float>();
      float* buf = c_.momentum > 0 ? momentum_.buffers[c.param].data<float>() : nullptr;
      if (!buf) {  // plain SGD (seed 001's recipe), a loop the compiler vectorises
        for (int64_t j = c.begin; j < c.end; ++j) w[j] -= static_cast<float>(lr * (g[j] + wd * w[j]));
        return;
      }
      for (int64_t j = c.begin; j < c.end; ++j) {
        double d = g[j] + wd * w[j];
        buf[j] = steps_ == 0 ? static_cast<float>(d) : static_cast<float>(c_.momentum * buf[j] + d);
        d = c_.nesterov ? d + c_.momentum * buf[j] : buf[j];
        w[j] -= static_cast<float>(lr * d);
      }
    });
    ++steps_;
  }
  io::NamedTensors state() const override {
    io::NamedTensors out{{"step", step_tensor(steps_)}};
    if (c_.momentum > 0) momentum_.save(names_, out);
    return out;
  }
  void load_state(const io::NamedTensors& state, const std::string& file) override {
    steps_ = steps_in(state, file);
    if (c_.momentum > 0) momentum_.load(names_, state, file);
  }

 private:
  OptimizerConfig c_;
  std::vector<std::string> names_;
  Moments momentum_{"momentum_buffer", {}};
  int64_t steps_ = 0;
};

// torch.optim.AdamW: p -= lr·wd·p; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
// p -= lr·(m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + eps) — in float and in the order torch 1.13's
// _single_tensor_adamw takes (denominator √v / √(1−β2ᵗ) + eps, step lr / (1−β1ᵗ)). In double it
// took 475 ms a step at GPT-2 small, in float 210 ms (bench/RESULTS.md, stop 25).
class AdamW final : public Optimizer {
 public:
  AdamW(const OptimizerConfig& c, const std::vector<Trainable>& params) : c_(c), names_(names_of(params)) {
    m_.make(params);
    v_.make(params);
  }
  void step(std::vector<Trainable>& params, double lr) override {
    ++steps_;
    const double bc1 = 1 - std::pow(c_.beta1, static_cast<double>(steps_));
    const double bc2 = 1 - std::pow(c_.beta2, static_cast<double>(steps_));
    const auto b1 = static_cast<float>(c_.beta1), b2 = static_cast<float>(c_.beta2),
               a1 = static_cast<float>(1 - c_.beta1), a2 = static_cast<float>(1 - c_.beta2),
               step_size = static_cast<float>(lr / bc1), bc2_sqrt = static_cast<float>(std::sqrt(bc2)),
               eps = static_cast<float>(c_.eps);
    for_each_chunk(chunks_of(params), [&](size_t, const Chunk& c) {
      Trainable& p = params[c.param];
      const auto shrink = static_cast<float>(1 - lr * (p.decay ? c_.weight_decay : 0.0));
      float* w = values(p);
      const float* g = p.grad.data<float>();
      float* m = m_.buffers[c.param].data<float>();
      float* v = v_.buffers[c.param].data<float>();
      for (int64_t j = c.begin; j < c.end; ++j) {
        m[j] = m[j] * b1 + a1 * g[j];
        v[j] = v[j] * b2 + a2 * g[j] * g[j];
        w[j] = w[j] * shrink - step_size * (m[j] / (std::sqrt(v[j]) / bc2_sqrt + eps));
      }
    });
  }
  io::NamedTensors state() const override {
    io::NamedTensors out{{"step", step_tensor(steps_)}};
    m_.save(names_, out);
    v_.save(names_, out);
    return out;
  }
  void load_state(const io::NamedTensors& state, const std::string& file) override {
    steps_ = steps_in(state, file);
    m_.load(names_, state, file);
    v_.load(names_, state, file);
  }

 private:
  OptimizerConfig c_;
  std::vector<std::string> names_;
  Moments m_{"exp_avg", {}}, v_{"exp_avg_sq", {}};
  int64_t steps_ = 0;
};

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& c, const std::vector<Trainable>& params) {
  if (!(c.weight_decay >= 0)) fail(ErrorKind::config, fmt::format("--weight-decay {} must be ≥ 0", c.weight_decay));
  if (c.kind == "sgd") {
    if (!(c.momentum >= 0 && c.momentum < 1)) fail(ErrorKind::config, fmt::format("--momentum {} must be in [0, 1)", c.momentum));
    if (c.nesterov && c.momentum == 0) fail(ErrorKind::config, "--nesterov needs --momentum > 0");
    return std::make_unique<Sgd>(c, params);
  }
  if (c.kind == "adamw") {
    if (c.momentum != 0 || c.nesterov) fail(ErrorKind::config, "--momentum and --nesterov are SGD's (--optimizer sgd)");
    if (!(c.beta1 >= 0 && c.beta1 < 1 && c.beta2 >= 0 && c.beta2 < 1))
      fail(ErrorKind::config, fmt::format("--betas {},{} must each be in [0, 1)", c.beta1, c.beta2));
    if (!(c.eps > 0)) fail(ErrorKind::config, fmt::format("--eps {} must be > 0", c.eps));
    return std::make_unique<AdamW>(c, params);
  }
  fail(ErrorKind::config, fmt::format("--optimizer {}: unknown (sgd or adamw)", c.kind));
}

double learning_rate(const Schedule& s, int64_t step) {
  if (step < s.warmup) return s.lr * static_cast<double>(step + 1) / static_cast<double>(s.warmup);
  if (s.kind == "constant" || s.steps <= s.warmup) return s.lr;
  const double progress = std::min(1.0, static_cast<double>(step - s.warmup) / static_cast<double>(s.steps - s.warmup));
  return s.min_lr + 0.5 * (s.lr - s.min_lr) * (1 + std::cos(std::numbers::pi * progress));
}

double clip_gradients(std::vector<Trainable>& params, double clip) {
  // Per-chunk sums added in chunk order: the norm (and so the weights) does not depend on the
  // thread count.
  const std::vector<Chunk> chunks = chunks_of(params);
  std::vector<double> part(chunks.size());
  for_each_chunk(chunks, [&](size_t i, const Chunk& c) {
    const float* g = params[c.param].grad.data<float>();
    // Four running sums (one vector of doubles) instead of one chain of dependent additions.
    double s[4] = {0, 0, 0, 0};
    int64_t j = c.begin;
    for (; j + 4 <= c.end; j += 4)
      for (int l = 0; l < 4; ++l) s[l] += static_cast<double>(g[j + l]) * g[j + l];
    for (; j < c.end; ++j) s[0] += static_cast<double>(g[j]) * g[j];
    part[i] = (s[0] + s[1]) + (s[2] + s[3]);
  });
  double ss = 0;
  for (double s : part) ss += s;
  const double norm = std::sqrt(ss);
  if (clip > 0 && norm > clip && std::isfinite(norm)) {
    const auto scale = static_cast<float>(clip / (norm + 1e-6));
    for_each_chunk(chunks, [&](size_t, const Chunk& c) {
      float* g = params[c.param].grad.data<float>();
      for (int64_t j = c.begin; j < c.end; ++j) g[j] *= scale;
    });
  }
  return norm;
}

io::ordered_json to_json(const OptimizerConfig& c) {
  io::ordered_json j = {{"optimizer", c.kind}, {"weight_decay", c.weight_decay}};
  if (c.kind == "sgd") {
    j["momentum"] = c.momentum;
    j["nesterov"] = c.nesterov;
  } else {
    j["betas"] = {c.beta1, c.beta2};
    j["eps"] = c.eps;
  }
  return j;
}

io::ordered_json to_json(const Schedule& s) {
  io::ordered_json j = {{"schedule", s.kind}, {"lr", s.lr}, {"warmup", s.warmup}};
  if (s.kind == "cosine") j["min_lr"] = s.min_lr;
  return j;
}

}  // namespace anatomy::train
