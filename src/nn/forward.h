// What one forward call carries: the op context, the per-sequence state (KV caches, Mamba conv
// and SSM states, keyed by module path so that a shared block applied at several layers keeps one
// cache per application), and the module path stack that names scopes for observers.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ops/ops.h"

namespace anatomy::nn {

class Module;

// What a module keeps in the state, by the name it asks for (the key is "<module path>.<name>").
// KV caches are indexed by position: a pass writes its own slots. The others are recurrent.
inline constexpr const char* kKCache = "k_cache";
inline constexpr const char* kVCache = "v_cache";
inline constexpr const char* kSsmState = "ssm_state";
inline constexpr const char* kConvState = "conv_state";
inline bool is_kv_cache(const std::string& key) { return key.ends_with(kKCache) || key.ends_with(kVCache); }

struct State {
  State(int64_t batch, int64_t max_tokens) : batch(batch), max_tokens(max_tokens) {}
  int64_t batch, max_tokens;
  int64_t past = 0;  // tokens already processed; advanced by the language model's forward
  std::map<std::string, Tensor> tensors;
};

class Run {
 public:
  Run(const ops::Context& ctx, State& state) : ctx(ctx), state(state) {}
  const ops::Context& ctx;
  State& state;
  bool last_logits_only = false;  // LM head on the last position only (generation)
  // Set on such a pass while its last layer runs (run_layers): that layer's position-wise
  // sublayers take the last position only.
  bool last_position_only = false;
  const Tensor* source_ids = nullptr;  // encoder input of encoder-decoder models (default: the ids)

  const std::string& path() const { return path_; }
  // The state tensor `what` of the current module path (zeros on first use; meta in meta runs).
  Tensor& state_tensor(const std::string& what, const Shape& shape);

  // Runs f() as the scope `name` of module m: observers see its input and output shapes and
  // every op inside it.
  template <class F>
  Tensor scope(const std::string& name, const Module& m, const Tensor& in, F&& f);

 private:
  void enter(const std::string& name, const Module& m, const Tensor& in);
  void leave(const Tensor& out);
  // The joined module path, kept up to date on scope entry and exit (state lookups read it on
  // every attention and Mamba call), and the length to restore on each exit.
  std::string path_;
  std::vector<size_t> path_lengths_;
};

}  // namespace anatomy::nn
