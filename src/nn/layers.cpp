#include "nn/layers.h"

#include <fmt/format.h>

#include "core/error.h"

namespace anatomy::nn {
namespace {
const char* py_bool(bool b) { return b ? "True" : "False"; }
}  // namespace

Linear::Linear(int64_t in, int64_t out, bool has_bias, std::string type)
    : Module(std::move(type)), in_features(in), out_features(out) {
  weight = add_param("weight", {out, in});
  if (has_bias) bias = add_param("bias", {out});
}
void Linear::tie_weight(std::shared_ptr<Parameter> w) {
  weight = std::move(w);
  tie_param("weight", weight);
}

std::string Linear::extra_repr() const {
  return fmt::format("in_features={}, out_features={}, bias={}", in_features, out_features,
                     py_bool(bias != nullptr));
}

Conv1D::Conv1D(int64_t in, int64_t out) : Module("Conv1D"), in_features(in), out_features(out) {
  weight = add_param("weight", {in, out});
  bias = add_param("bias", {out});
}
std::string Conv1D::extra_repr() const {
  return fmt::format("nf={}, nx={}", out_features, in_features);
}

Embedding::Embedding(int64_t num, int64_t dim, std::string type)
    : Module(std::move(type)), num_embeddings(num), embedding_dim(dim) {
  weight = add_param("weight", {num, dim});
}
std::string Embedding::extra_repr() const { return fmt::format("{}, {}", num_embeddings, embedding_dim); }

LayerNorm::LayerNorm(int64_t d, double e, bool has_bias, std::string type, const char* weight_name,
                     const char* bias_name)
    : Module(std::move(type)), dim(d), eps(e) {
  weight = add_param(weight_name, {d});
  if (has_bias) bias = add_param(bias_name, {d});
}
std::string LayerNorm::extra_repr() const { return fmt::format("({},), eps={:g}", dim, eps); }

RMSNorm::RMSNorm(int64_t d, double e, std::string type) : Module(std::move(type)), dim(d), eps(e) {
  weight = add_param("weight", {d});
}
std::string RMSNorm::extra_repr() const { return fmt::format("({},), eps={:g}", dim, eps); }

GatedRMSNorm::GatedRMSNorm(int64_t d, int64_t g, double e, std::string type)
    : Module(std::move(type)), dim(d), groups(g), eps(e) {
  weight = add_param("weight", {d});
}
std::string GatedRMSNorm::extra_repr() const {
  return fmt::format("({},), groups={}, eps={:g}", dim, groups, eps);
}

DepthwiseConv1d::DepthwiseConv1d(int64_t c, int64_t k, bool has_bias)
    : Module("Conv1d"), channels(c), kernel(k) {
  weight = add_param("weight", {c, 1, k});
  if (has_bias) bias = add_param("bias", {c});
}
std::string DepthwiseConv1d::extra_repr() const {
  return fmt::format("{}, {}, kernel_size=({},), stride=(1,), padding=({},), groups={}", channels,
                     channels, kernel, kernel - 1, channels);
}

std::string Dropout::extra_repr() const { return fmt::format("p={:g}", p); }

Activation activation_from_hf(const std::string& name) {
  if (name == "silu" || name == "swish") return Activation::silu;
  if (name == "gelu") return Activation::gelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::gelu_tanh;
  if (name == "relu") return Activation::relu;
  if (name == "relu2") return Activation::relu2;
  fail(ErrorKind::unsupported, "activation '" + name + "' is not supported (silu, gelu, gelu_new, relu, relu2)");
}


}  // namespace anatomy::nn

namespace anatomy::nn {
namespace {
const Tensor* opt(const std::shared_ptr<Parameter>& p) { return p ? &p->value : nullptr; }
}  // namespace

Tensor Linear::forward(Run& run, const Tensor& x) const {
  return ops::linear(run.ctx, x, weight->value, opt(bias), cls);
}

Tensor Conv1D::forward(Run& run, const Tensor& x) const {
  return ops::linear(run.ctx, x, weight->value, opt(bias), ops::OpClass::linear, /*w_in_out=*/true);
}

Tensor Embedding::forward(Run& run, const Tensor& ids) const { return ops::embedding(run.ctx, weight->value, ids); }

Tensor LayerNorm::forward(Run& run, const Tensor& x) const {
  return ops::layer_norm(run.ctx, x, weight->value, opt(bias), eps);
}

Tensor RMSNorm::forward(Run& run, const Tensor& x) const { return ops::rms_norm(run.ctx, x, weight->value, eps); }

Tensor GatedRMSNorm::call(Run& run, const std::string& name, const Tensor& y, const Tensor& gate) const {
  return run.scope(name, *this, y, [&] { return ops::gated_rms_norm(run.ctx, y, gate, weight->value, groups, eps); });
}

Tensor DepthwiseConv1d::forward(Run& run, const Tensor& x) const {
  Tensor& state = run.state_tensor(kConvState, {x.dim(0), channels, kernel - 1});
  return ops::causal_conv1d(run.ctx, x, weight->value, opt(bias), state);
}

Tensor ActivationModule::forward(Run& run, const Tensor& x) const {
  return ops::activation(run.ctx, x, kind);
}

}  // namespace anatomy::nn
