#include "analysis/cost.h"

#include <functional>
#include <set>

#include "analysis/params.h"
#include "core/error.h"
#include "nn/module.h"

namespace anatomy::analysis {
namespace {

// path -> module object, every alias path included.
std::map<std::string, const nn::Module*> modules_by_path(const nn::Module& root) {
  std::map<std::string, const nn::Module*> out;
  std::function<void(const nn::Module&, const std::string&)> walk = [&](const nn::Module& m, const std::string& p) {
    out[p] = &m;
    for (const auto& [n, c] : m.children()) walk(*c, nn::join_path(p, n));
  };
  walk(root, "");
  return out;
}

uint64_t subtree_params(const nn::Module& m) {
  std::set<const nn::Parameter*> seen;
  uint64_t n = 0;
  for (const auto& ref : nn::parameter_slots(m))
    if (seen.insert(ref.param.get()).second) n += ref.param->value.numel();
  return n;
}


}  // namespace

void CostCollector::begin_scope(const std::string& name, const std::string& type, const Tensor& input) {
  ModuleCost m;
  m.path = stack_.empty() ? name : nn::join_path(r_.modules[stack_.back()].path, name);
  m.type = type;
  m.depth = static_cast<int>(stack_.size());
  m.input = input.shape();
  r_.modules.push_back(std::move(m));
  stack_.push_back(r_.modules.size() - 1);
}

void CostCollector::end_scope(const Tensor& output) {
  r_.modules[stack_.back()].output = output.shape();
  stack_.pop_back();
}

void CostCollector::op(const char*, const ops::Cost& cost) {
  const auto cls = static_cast<size_t>(cost.cls);
  r_.by_class[cls] += cost.flops;
  for (size_t i : stack_) {
    r_.modules[i].flops += cost.flops;
    r_.modules[i].by_class[cls] += cost.flops;
    r_.modules[i].bytes += cost.bytes_read + cost.bytes_written;
  }
  if (!stack_.empty()) {
    r_.modules[stack_.back()].self_flops += cost.flops;
    r_.modules[stack_.back()].self_bytes += cost.bytes_read + cost.bytes_written;
  }
}

void CostCollector::finish(const models::Model& model) {
  const auto by_path = modules_by_path(*model.root);
  for (auto& m : r_.modules) {
    if (auto it = by_path.find(m.path); it != by_path.end()) m.params = subtree_params(*it->second);
    auto& t = r_.by_type[m.type];
    t.first += 1;
    t.second += m.self_flops;
  }
  for (size_t c = 0; c < r_.by_class.size(); ++c)
    (is_matmul_like(static_cast<ops::OpClass>(c)) ? r_.total : r_.elementwise) += r_.by_class[c];
}

bool is_matmul_like(ops::OpClass c) {
  return c != ops::OpClass::norm && c != ops::OpClass::elementwise;
}

std::vector<int> module_parents(const std::vector<ModuleCost>& modules) {
  std::vector<int> parent(modules.size(), -1), stack;
  for (size_t i = 0; i < modules.size(); ++i) {
    stack.resize(static_cast<size_t>(modules[i].depth));
    parent[i] = stack.empty() ? -1 : stack.back();
    stack.push_back(static_cast<int>(i));
  }
  return parent;
}

CostReport analyze_cost(const models::Model& model, const CostOptions& o) {
  const nn::LanguageModel& lm = *model.root;
  if (o.batch < 1 || o.tokens < 1 || o.context < 0)
    fail(ErrorKind::config, "cost analysis needs batch ≥ 1, tokens ≥ 1 and context ≥ 0");
  CostReport r;
  r.options = o;
  CostCollector collector(r);
  const auto meta = std::make_shared<backend::MetaBackend>();
  const ops::Context ctx(meta, {&collector});
  nn::State state(o.batch, o.context + o.tokens);
  state.past = o.context;
  nn::Run run(ctx, state);
  run.last_logits_only = o.last_logits;
  const Tensor ids = Tensor::meta(DType::I64, {o.batch, o.tokens});
  run.scope("", lm, ids, [&] { return lm.forward_ids(run, ids); });

  collector.finish(model);

  Memory& mem = r.memory;
  mem.weights = count_params(model).bytes;
  mem.kv_dtype = dtype_info(model.dtype).torch_name;
  const uint64_t kv_elem = dtype_info(model.dtype).block_bytes;
  for (const auto& [key, t] : state.tensors) {
    mem.engine_state += t.nbytes();
    if (nn::is_kv_cache(key))
      mem.kv_cache_per_token += static_cast<uint64_t>(t.dim(2) * t.dim(3)) * kv_elem;
    else if (key.ends_with(nn::kSsmState)) mem.ssm_state += t.nbytes();
    else if (key.ends_with(nn::kConvState)) mem.conv_state += t.nbytes();
  }
  mem.kv_cache = mem.kv_cache_per_token * static_cast<uint64_t>(o.batch * (o.context + o.tokens));
  mem.activation_peak = meta->activations().peak;
  return r;
}

}  // namespace anatomy::analysis
