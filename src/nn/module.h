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

#include "core/error.h"
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
  // Whether each position's output depends on that position's input alone (the MLPs): such a
  // module may run on some positions without changing theirs. Mixers across time (attention,
  // Mamba) are not: they also write the caches and states later passes read.
  virtual bool position_wise() const { return false; }
  // Runs forward() as the child scope `name`.
  Tensor call(Run& run, const std::string& name, const Tensor& x) const {
    return run.scope(name, *this, x, [&] { return forward(run, x); });
  }

  std::shared_ptr<Parameter> add_param(const std::string& name, Shape shape);
  // Puts a parameter object owned elsewhere in slot `name` (weight tying); replaces an
  // existing slot of that name.
  void tie_param(const std::string& name, std::shared_ptr<Parameter> param);
  // Registers a child (state_dict order is registration order). Forward code never looks a
  // child up by name: it calls the typed Child<M> member that registered it.
  void register_child(const std::string& name, std::shared_ptr<Module> child) { children_.emplace_back(name, std::move(child)); }

  std::shared_ptr<Parameter> param(const std::string& name) const;
  // Searches the children by name (tree walks in analysis and tests); nullptr when absent.
  std::shared_ptr<Module> find_child(const std::string& name) const;

  const std::vector<std::pair<std::string, std::shared_ptr<Parameter>>>& params() const { return params_; }
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

 private:
  std::string type_;
  std::vector<std::pair<std::string, std::shared_ptr<Parameter>>> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// "<owner type> has no child '<name>'": a child declared but never set by the family builder.
[[noreturn]] void missing_child(const Module& owner, const std::string& name);

// A child declared once by its parent, with its name and type, and called through that
// declaration: `q_proj(run, x)` runs the child as the scope "q_proj". A child that was declared but
// not set is an error naming the parent, never a null pointer.
template <class M = Module>
class Child {
 public:
  Child(Module& owner, std::string name) : owner_(owner), name_(std::move(name)) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Attaches the module; it joins the owner's children in the order of set() calls.
  template <class D>
  std::shared_ptr<D> set(std::shared_ptr<D> m) {
    ANATOMY_ASSERT(!module_);
    module_ = m;
    owner_.register_child(name_, m);
    return m;
  }
  const std::string& name() const { return name_; }
  explicit operator bool() const { return module_ != nullptr; }
  const M& get() const {
    if (!module_) missing_child(owner_, name_);
    return *module_;
  }
  const M& operator*() const { return get(); }
  const M* operator->() const { return &get(); }
  Tensor operator()(Run& run, const Tensor& x) const { return get().call(run, name_, x); }
  // Runs f() as this child's scope (for children whose forward takes more than one input).
  template <class F>
  Tensor scope(Run& run, const Tensor& in, F&& f) const { return run.scope(name_, get(), in, std::forward<F>(f)); }

 private:
  Module& owner_;
  std::string name_;
  std::shared_ptr<M> module_;
};

template <class F>
Tensor Run::scope(const std::string& name, const Module& m, const Tensor& in, F&& f) {
  enter(name, m, in);
  Tensor out = f();
  leave(out);
  return out;
}

// nn.ModuleList: children named "0", "1", … of type M, iterated in order.
template <class M = Module>
class ModuleList : public Module {
 public:
  explicit ModuleList(std::string type = "ModuleList") : Module(std::move(type)) {}
  template <class D>
  std::shared_ptr<D> append(std::shared_ptr<D> m) {
    names_.push_back(std::to_string(items_.size()));
    items_.push_back(m);
    register_child(names_.back(), m);
    return m;
  }
  size_t size() const { return items_.size(); }
  const M& at(size_t i) const { return *items_.at(i); }
  const std::string& name_at(size_t i) const { return names_.at(i); }
  // apply(item, h) for each item in order, each as its own scope, all as the scope `name`.
  template <class F>
  Tensor run_each(Run& run, const std::string& name, Tensor h, F&& apply) const {
    return run.scope(name, *this, h, [&] {
      for (size_t i = 0; i < items_.size(); ++i) h = run.scope(names_[i], *items_[i], h, [&] { return apply(*items_[i], h); });
      return h;
    });
  }
  // Each item's forward in order.
  Tensor run_all(Run& run, const std::string& name, Tensor h) const {
    return run_each(run, name, std::move(h), [&](const M& item, const Tensor& x) { return item.forward(run, x); });
  }

 private:
  std::vector<std::shared_ptr<M>> items_;
  std::vector<std::string> names_;
};

// A language model's root: token ids [B, T] -> logits [B, T (or 1), V], advancing state.past.
class LanguageModel : public Module {
 public:
  // max_positions: positions the model can address (a learned or sinusoidal table, or the
  // config's max_position_embeddings), named by the config field `positions_field`; 0 when
  // unbounded (state-space models).
  LanguageModel(std::string type, int64_t vocab_size, int64_t max_positions, std::string positions_field)
      : Module(std::move(type)), vocab_size_(vocab_size), max_positions_(max_positions),
        positions_field_(std::move(positions_field)) {}
  // Refuses inputs that would run past max_positions (never clamps), then forward_tokens().
  Tensor forward_ids(Run& run, const Tensor& ids) const;
  // Token ids are in [0, vocab_size) (the decoder's vocabulary for encoder-decoders).
  int64_t vocab_size() const { return vocab_size_; }
  int64_t max_positions() const { return max_positions_; }
  const std::string& positions_field() const { return positions_field_; }
  // The same refusal for a planned pass of `tokens` after `past` cached, before anything runs.
  void check_positions(int64_t past, int64_t tokens) const;
  // Encoder-decoders: the encoder's vocabulary (its input is Run::source_ids); 0 for decoder-only.
  virtual int64_t source_vocab_size() const { return 0; }

 protected:
  virtual Tensor forward_tokens(Run& run, const Tensor& ids) const = 0;

 private:
  int64_t vocab_size_, max_positions_;
  std::string positions_field_;
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
