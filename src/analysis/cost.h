// Cost of one forward pass from a meta run of the real forward: per-module FLOPs and bytes
// (inclusive and self), shapes, FLOPs by op class and by module type, and memory (weights,
// KV cache, SSM/conv state, activation peak). No weights are needed; nothing is computed twice.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "models/model.h"
#include "ops/context.h"

namespace anatomy::analysis {

struct CostOptions {
  int64_t batch = 1;
  int64_t tokens = 1;       // new tokens in this forward
  int64_t context = 0;      // tokens already cached (decode: one step after `context` tokens)
  bool last_logits = false; // LM head on the last position only
};

using ClassFlops = std::array<double, ops::kOpClasses>;

struct ModuleCost {
  std::string path;  // "" for the root
  std::string type;
  int depth = 0;
  Shape input, output;
  uint64_t params = 0;  // unique parameters in the module's subtree
  double flops = 0;     // inclusive, every class
  double self_flops = 0;
  uint64_t bytes = 0;   // inclusive bytes read + written by its ops
  uint64_t self_bytes = 0;
  ClassFlops by_class{};
};

struct Memory {
  uint64_t weights = 0;             // unique parameters in their stored dtype
  std::string kv_dtype;             // the model dtype, which a deployment's cache uses
  uint64_t kv_cache_per_token = 0;  // per sequence, all attention applications, K and V
  uint64_t kv_cache = 0;            // for batch × (context + tokens)
  uint64_t ssm_state = 0;           // float32, batch sequences
  uint64_t conv_state = 0;          // float32, batch sequences
  uint64_t activation_peak = 0;     // float32 activations live at once in this engine's forward
  uint64_t engine_state = 0;        // every cache and state as this engine allocates it (float32)
};

struct CostReport {
  CostOptions options;
  std::vector<ModuleCost> modules;  // call order, torchinfo style
  ClassFlops by_class{};
  double total = 0;        // linear + attention + ssm + conv + head (+ embedding, 0)
  double elementwise = 0;  // norm + elementwise classes (conventions, stated per op)
  std::map<std::string, std::pair<int, double>> by_type;  // type -> (calls, self FLOPs)
  Memory memory;
};

CostReport analyze_cost(const models::Model& model, const CostOptions& options);

// Builds CostReport::modules and by_class from the scopes and op reports of one forward, meta or
// real (the profiler attaches it to a real pass). finish() adds parameters, types and totals.
class CostCollector : public ops::Observer {
 public:
  explicit CostCollector(CostReport& r) : r_(r) {}
  void begin_scope(const std::string& name, const std::string& type, const Tensor& input) override;
  void end_scope(const Tensor& output) override;
  void op(const char* name, const ops::Cost& cost) override;
  void finish(const models::Model& model);

 private:
  CostReport& r_;
  std::vector<size_t> stack_;
};

bool is_matmul_like(ops::OpClass c);
// parent[i]: index of the scope enclosing modules[i] (call order, by depth); -1 for the root.
std::vector<int> module_parents(const std::vector<ModuleCost>& modules);

}  // namespace anatomy::analysis
