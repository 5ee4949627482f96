// Parameter accounting of a model tree: the per-tensor table (seed 000), the per-component
// arithmetic (seed 001), unique totals vs. torchinfo-style totals that count a tied head twice,
// and bytes by dtype. Unique = distinct Parameter objects; torchinfo-style = every parameter slot
// of every distinct module object (so a tied lm_head counts again, a shared block does not).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "models/model.h"

namespace anatomy::analysis {

struct TensorRow {
  std::string name;
  Shape shape;
  DType dtype = DType::F32;
  uint64_t count = 0;
  uint64_t bytes = 0;
  std::string tied_to;               // canonical name when this slot re-uses another parameter
  std::vector<std::string> aliases;  // other paths of the same module object (shared blocks)
};

// One row of the per-component arithmetic. Facts only (the renderer words them): a plain module,
// one layer of a stack standing for every layer of the same structure, a part of that layer, the
// stack total (layer × count), or a shared block (one object applied under several paths).
struct ComponentRow {
  enum class Kind { module, layer, part, stack, shared_block };
  Kind kind = Kind::module;
  std::string name;     // the module path ("model.embed_tokens"), the layer's path, or the part's name
  std::string type;     // module class
  std::string formula;  // the parameter shapes: "3072×3072 + 1024×3072 + ..." (empty for sums)
  uint64_t params = 0;  // unique parameters this row adds (0 for a tied slot)
  int depth = 0;        // 1 = part of the layer above
  std::string tied_to;  // a tied slot: the canonical parameter it re-uses
  std::vector<std::string> layers;      // layer and stack: the layer names with this structure
  std::vector<std::string> applied_at;  // shared_block: every path it is applied under
};
const char* component_kind_name(ComponentRow::Kind k);
// "0–4, 6–10, 12" for layer names that are indices.
std::string index_ranges(const std::vector<std::string>& names);

struct DTypeTotal {
  uint64_t count = 0, bytes = 0;
};

struct ParamReport {
  std::vector<TensorRow> tensors;
  std::vector<ComponentRow> components;
  uint64_t total = 0;             // unique
  uint64_t total_with_tied = 0;   // torchinfo-style
  uint64_t bytes = 0;             // unique, in the stored dtypes
  std::map<std::string, DTypeTotal> by_dtype;  // dtype name -> unique totals
};

ParamReport count_params(const models::Model& model);

}  // namespace anatomy::analysis
