// The leaf modules every family is built from, with PyTorch's parameter names and shapes:
// nn.Linear weight [out, in]; GPT-2's Conv1D weight [in, out]; nn.Conv1d (depthwise) [C, 1, K].
#pragma once

#include <memory>
#include <string>

#include "nn/module.h"
#include "ops/ops.h"

namespace anatomy::nn {

class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, bool bias, std::string type = "Linear");
  std::string extra_repr() const override;
  void tie_weight(std::shared_ptr<Parameter> w);  // lm_head = embed_tokens
  Tensor forward(Run& run, const Tensor& x) const override;
  int64_t in_features, out_features;
  ops::OpClass cls = ops::OpClass::linear;  // head for the LM head
  std::shared_ptr<Parameter> weight, bias;  // bias null when absent
};

// Hugging Face GPT-2 Conv1D: y = x·W + b with W stored [in, out].
class Conv1D : public Module {
 public:
  Conv1D(int64_t in, int64_t out);
  std::string extra_repr() const override;
  Tensor forward(Run& run, const Tensor& x) const override;
  int64_t in_features, out_features;
  std::shared_ptr<Parameter> weight, bias;
};

class Embedding : public Module {
 public:
  Embedding(int64_t num, int64_t dim, std::string type = "Embedding");
  std::string extra_repr() const override;
  Tensor forward(Run& run, const Tensor& ids) const override;
  int64_t num_embeddings, embedding_dim;
  std::shared_ptr<Parameter> weight;
};

// LayerNorm with weight/bias (PyTorch) or gamma/beta (hyunwoongko) names; bias optional.
class LayerNorm : public Module {
 public:
  LayerNorm(int64_t dim, double eps, bool bias, std::string type = "LayerNorm",
            const char* weight_name = "weight", const char* bias_name = "bias");
  std::string extra_repr() const override;
  Tensor forward(Run& run, const Tensor& x) const override;
  int64_t dim;
  double eps;
  std::shared_ptr<Parameter> weight, bias;
};

class RMSNorm : public Module {
 public:
  RMSNorm(int64_t dim, double eps, std::string type);
  std::string extra_repr() const override;
  Tensor forward(Run& run, const Tensor& x) const override;
  int64_t dim;
  double eps;
  std::shared_ptr<Parameter> weight;
};

// Gated RMSNorm of the Mamba2 mixer, normalised over `groups` contiguous groups (§3.1).
class GatedRMSNorm : public Module {
 public:
  GatedRMSNorm(int64_t dim, int64_t groups, double eps, std::string type);
  std::string extra_repr() const override;
  Tensor call(Run& run, const std::string& name, const Tensor& y, const Tensor& gate) const;
  int64_t dim, groups;
  double eps;
  std::shared_ptr<Parameter> weight;
};

// Depthwise nn.Conv1d (groups = channels), causal padding kernel-1.
class DepthwiseConv1d : public Module {
 public:
  DepthwiseConv1d(int64_t channels, int64_t kernel, bool bias);
  std::string extra_repr() const override;
  // Causal over time; keeps the last kernel−1 inputs as state between calls.
  Tensor forward(Run& run, const Tensor& x) const override;
  int64_t channels, kernel;
  std::shared_ptr<Parameter> weight, bias;
};

// transformers' ACT2FN names: "silu", "gelu", "gelu_new", "relu2", ...
Activation activation_from_hf(const std::string& name);

// A parameter-free activation module; `type` is the class name shown to users (SiLU, GELU,
// NewGELUActivation, ReLUSquaredActivation, ...).
class ActivationModule : public Module {
 public:
  ActivationModule(Activation kind, std::string type) : Module(std::move(type)), kind(kind) {}
  Tensor forward(Run& run, const Tensor& x) const override;
  Activation kind;
};

class Dropout : public Module {
 public:
  explicit Dropout(double p) : Module("Dropout"), p(p) {}
  std::string extra_repr() const override;
  // ops::dropout: the identity at inference.
  Tensor forward(Run& run, const Tensor& x) const override { return ops::dropout(run.ctx, x, p); }
  double p;
};

// A declared dropout child applied where it acts (training, p > 0), so that inference runs and
// their module tables are unchanged by it.
template <class ChildT>
Tensor apply_dropout(Run& run, const ChildT& d, const Tensor& x) {
  return d && d->p > 0 && run.ctx.training() ? d(run, x) : x;
}


}  // namespace anatomy::nn
