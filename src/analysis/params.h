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

struct ComponentRow {
  std::string name;     // "model.embed_tokens", "one block: self_attn", "blocks × 28"
  std::string type;     // module class
  std::string formula;  // from the shapes: "3072×3072 + 1024×3072 + ..."
  uint64_t params = 0;  // unique parameters this row adds (0 for a tied slot)
  int depth = 0;        // 1 = detail of the block above
  std::string note;     // "tied to model.embed_tokens.weight", "shared by layers 5, 11"
};

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
