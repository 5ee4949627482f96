#include "nn/module.h"

#include <set>

#include <fmt/format.h>

#include "core/error.h"

namespace anatomy::nn {

Tensor Module::forward(Run&, const Tensor&) const {
  fail(ErrorKind::unsupported, "module type " + type_ + " has no single-input forward");
}

Tensor& Run::state_tensor(const std::string& what, const Shape& shape) {
  const std::string key = join_path(path_, what);
  auto it = state.tensors.find(key);
  if (it == state.tensors.end())
    it = state.tensors.emplace(key, ctx.backend().zeros(DType::F32, shape)).first;
  ANATOMY_ASSERT(it->second.shape() == shape);
  return it->second;
}

void Run::enter(const std::string& name, const Module& m, const Tensor& in) {
  path_lengths_.push_back(path_.size());
  if (!path_.empty()) path_ += '.';
  path_ += name;
  for (ops::Observer* o : ctx.observers()) o->begin_scope(name, m.type(), in);
}

void Run::leave(const Tensor& out) {
  for (ops::Observer* o : ctx.observers()) o->end_scope(out);
  path_.resize(path_lengths_.back());
  path_lengths_.pop_back();
}

std::shared_ptr<Parameter> Module::add_param(const std::string& name, Shape shape) {
  auto p = std::make_shared<Parameter>();
  p->value = Tensor::meta(DType::F32, std::move(shape));
  params_.emplace_back(name, p);
  return p;
}

void Module::tie_param(const std::string& name, std::shared_ptr<Parameter> param) {
  for (auto& [n, p] : params_)
    if (n == name) {
      p = std::move(param);
      return;
    }
  params_.emplace_back(name, std::move(param));
}

std::shared_ptr<Parameter> Module::param(const std::string& name) const {
  for (const auto& [n, p] : params_)
    if (n == name) return p;
  return nullptr;
}

void LanguageModel::check_positions(int64_t past, int64_t tokens) const {
  if (max_positions_ > 0 && past + tokens > max_positions_)
    fail(ErrorKind::config,
         past > 0 ? fmt::format("{} tokens after {} cached reach position {}, past the model's context of {} positions ({})",
                                tokens, past, past + tokens, max_positions_, positions_field_)
                  : fmt::format("{} tokens exceed the model's context of {} positions ({})", tokens, max_positions_,
                                positions_field_));
}

Tensor LanguageModel::forward_ids(Run& run, const Tensor& ids) const {
  check_positions(run.state.past, ids.dim(1));
  return forward_tokens(run, ids);
}

void missing_child(const Module& owner, const std::string& name) {
  fail(ErrorKind::internal, owner.type() + " has no child '" + name + "': its family builder never set it");
}

std::shared_ptr<Module> Module::find_child(const std::string& name) const {
  for (const auto& [n, c] : children_)
    if (n == name) return c;
  return nullptr;
}

namespace {

void visit(const Module& m, const std::string& path, std::set<const Module*>& seen,
           const ModuleVisitor& fn, bool descend_shared) {
  const bool first = seen.insert(&m).second;
  fn(path, m, first);
  if (!first && !descend_shared) return;
  for (const auto& [name, child] : m.children())
    visit(*child, join_path(path, name), seen, fn, descend_shared);
}

}  // namespace

void visit_modules(const Module& root, const ModuleVisitor& fn) {
  std::set<const Module*> seen;
  visit(root, "", seen, fn, false);
}

std::vector<ParamRef> parameter_slots(const Module& root) {
  std::vector<ParamRef> out;
  visit_modules(root, [&](const std::string& path, const Module& m, bool first) {
    if (!first) return;
    for (const auto& [name, p] : m.params()) out.push_back({join_path(path, name), p, &m});
  });
  return out;
}

std::vector<ParamRef> all_parameter_paths(const Module& root) {
  std::vector<ParamRef> out;
  std::set<const Module*> seen;
  visit(root, "", seen,
        [&](const std::string& path, const Module& m, bool) {
          for (const auto& [name, p] : m.params()) out.push_back({join_path(path, name), p, &m});
        },
        true);
  return out;
}

void set_param_dtype(const Module& root, DType dtype) {
  for (auto& ref : parameter_slots(root))
    ref.param->value = Tensor::meta(dtype, ref.param->value.shape());
}

}  // namespace anatomy::nn
