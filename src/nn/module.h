// Module: a node of the model tree. Names are Hugging Face state_dict prefixes, type names are
// the Hugging Face (or original repo) class names. Parameters are shared_ptrs so that tied
// weights (lm_head = embed_tokens) and shared blocks (Zamba2's shared transformer, reachable
// under several layers) are one object: counting unique parameters is counting unique objects.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "nn/forward.h"

namespace anatomy::nn {

struct Parameter {
  Tensor value;  // meta (shape + dtype) until weights are bound
};

class Module {
 public:
  explicit Module(std::string type) : type_(std::move(type)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& type() const { return type_; }
  // PyTorch's extra_repr: "in_features=2048, out_features=8192, bias=False".
  virtual std::string extra_repr() const { return ""; }
  // x -> y for modules with one input; others define their own signature.
  virtual Tensor forward(Run& run, const Tensor& x) const;
  // Runs forward() as the child scope `name`.
  Tensor call(Run& run, const std::string& name, const Tensor& x) const {
    return run.scope(name, *this, x, [&] { return forward(run, x); });
  }

  std::shared_ptr<Parameter> add_param(const std::string& name, Shape shape);
  // Puts a parameter object owned elsewhere in slot `name` (weight tying); replaces an
  // existing slot of that name.
  void tie_param(const std::string& name, std::shared_ptr<Parameter> param);
  template <class M>
  std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> child) {
    children_.emplace_back(name, child);
    return child;
  }
  std::shared_ptr<Parameter> param(const std::string& name) const;
  std::shared_ptr<Module> child(const std::string& name) const;

  const std::vector<std::pair<std::string, std::shared_ptr<Parameter>>>& params() const { return params_; }
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

 private:
  std::string type_;
  std::vector<std::pair<std::string, std::shared_ptr<Parameter>>> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

template <class F>
Tensor Run::scope(const std::string& name, const Module& m, const Tensor& in, F&& f) {
  enter(name, m, in);
  Tensor out = f();
  leave(out);
  return out;
}

// A language model's root: token ids [B, T] -> logits [B, T (or 1), V], advancing state.past.
class LanguageModel : public Module {
 public:
  using Module::Module;
  virtual Tensor forward_ids(Run& run, const Tensor& ids) const = 0;
};

inline std::string join_path(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

// Depth-first, parameters before children (PyTorch's state_dict order). `first` is false when
// the module object was already reached under another path (a shared block); its subtree is
// then not descended again.
using ModuleVisitor = std::function<void(const std::string& path, const Module& m, bool first)>;
void visit_modules(const Module& root, const ModuleVisitor& fn);

struct ParamRef {
  std::string path;               // full name, e.g. "model.layers.0.self_attn.q_proj.weight"
  std::shared_ptr<Parameter> param;
  const Module* owner = nullptr;  // the module object holding this slot
};
// Every parameter slot of every distinct module object, in state_dict order.
std::vector<ParamRef> parameter_slots(const Module& root);
// Every path under which some parameter is reachable, shared blocks included (all aliases).
std::vector<ParamRef> all_parameter_paths(const Module& root);

void set_param_dtype(const Module& root, DType dtype);

}  // namespace anatomy::nn
