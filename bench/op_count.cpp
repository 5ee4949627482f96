// Ops one forward pass issues (a meta run: nothing executes), in total and by op: on a GPU each op
// is at least one kernel launch, so time per pass over this count is the time per op that a
// launch-bound pass shows. usage: bench_op_count MODEL TOKENS [PAST]
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "backend/backend.h"
#include "models/loader.h"
#include "nn/module.h"

using namespace anatomy;

namespace {

class OpCounter final : public ops::Observer {
 public:
  void begin_scope(const std::string&, const std::string&, const Tensor&) override {}
  void end_scope(const Tensor&) override {}
  void op(const char* name, const ops::Cost&) override {
    ++total;
    ++by_op[name];
  }
  long total = 0;
  std::map<std::string, long> by_op;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_op_count MODEL TOKENS [PAST]\n");
    return 2;
  }
  const models::LoadedModel lm = models::load_model(argv[1]);
  const int64_t tokens = std::atoll(argv[2]), past = argc > 3 ? std::atoll(argv[3]) : 0;
  OpCounter counter;
  const ops::Context meta(std::make_shared<backend::MetaBackend>(), {&counter});
  nn::State state(1, past + tokens);
  state.past = past;
  nn::Run run(meta, state);
  run.last_logits_only = past > 0;  // a decode step keeps the last logits only, as bench and profile do
  Tensor ids = Tensor::empty(DType::I64, {1, tokens});
  for (int64_t i = 0; i < tokens; ++i) ids.data<int64_t>()[i] = 1;
  lm.model.root->forward_ids(run, ids);
  std::printf("%s, %lld tokens after %lld: %ld ops\n", argv[1], static_cast<long long>(tokens), static_cast<long long>(past),
              counter.total);
  for (const auto& [name, n] : counter.by_op) std::printf("  %-20s %ld\n", name.c_str(), n);
  return 0;
}
