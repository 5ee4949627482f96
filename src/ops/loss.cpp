#include "ops/loss.h"

#include "ops/check.h"

namespace anatomy::ops {
using namespace detail;

Tensor cross_entropy(const Context& c, const Tensor& logits, const Tensor& targets, int64_t ignore_index) {
  require_rank("cross_entropy", logits, 3, "logits [B, T, V]");
  require_rank("cross_entropy", targets, 2, "targets [B, T]");
  if (targets.dim(0) != logits.dim(0) || targets.dim(1) != logits.dim(1))
    shape_error("cross_entropy", fmt::format("targets {} for logits {}", shape_str(targets.shape()), shape_str(logits.shape())));
  if (targets.dtype() != DType::I32 && targets.dtype() != DType::I64) shape_error("cross_entropy", "targets must be I32 or I64");
  const int64_t V = logits.dim(2);
  if (targets.device() == Device::cpu)
    for (uint64_t i = 0; i < targets.numel(); ++i) {
      const int64_t t = id_at(targets, i);
      if (t != ignore_index && (t < 0 || t >= V))
        shape_error("cross_entropy", fmt::format("target {} at position {} is outside the vocabulary [0, {})", t, i, V));
    }
  Tensor out = c.output(targets.shape());
  c.report("cross_entropy", elementwise(5, logits.numel(), logits.numel()));
  c.backend().cross_entropy(logits, targets, ignore_index, out);
  if (Tape* tape = c.tape())
    tape->record("cross_entropy", {out}, [logits, targets, ignore_index, out](Tape& g) {
      Tensor dlogits = g.grad(logits);
      g.backend().cross_entropy_backward(logits, targets, ignore_index, g.grad(out), dlogits);
    });
  return out;
}

}  // namespace anatomy::ops
