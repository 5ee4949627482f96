#include "ops/linear.h"

#include "ops/check.h"

namespace anatomy::ops {
using namespace detail;

Tensor linear(const Context& c, const Tensor& x, const Tensor& w, const Tensor* bias, OpClass cls, bool w_in_out) {
  require_rank("linear", w, 2, "weight");
  if (x.shape().empty()) shape_error("linear", "input must have at least one dimension");
  const int64_t K = x.dim(-1), N = w_in_out ? w.dim(1) : w.dim(0);
  if ((w_in_out ? w.dim(0) : w.dim(1)) != K)
    shape_error("linear", fmt::format("input {} does not match weight {}{}", shape_str(x.shape()), shape_str(w.shape()),
                                      w_in_out ? " ([in, out])" : " ([out, in])"));
  if (bias && (bias->shape().size() != 1 || bias->dim(0) != N))
    shape_error("linear", fmt::format("bias {} does not match {} outputs", shape_str(bias->shape()), N));
  const int64_t M = rows(x);
  Tensor out = c.output(with_last(x.shape(), N));
  // 2·M·N·K multiply-adds counted as 2 FLOPs each; weights read once.
  c.report(cls == OpClass::head ? "lm_head" : "linear",
           {cls, 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K),
            x.nbytes() + w.nbytes(), out.nbytes()});
  if (bias) c.report("bias_add", elementwise(1, out.numel(), out.numel() + static_cast<uint64_t>(N)));
  c.backend().linear(x, w, bias, w_in_out, out);
  if (Tape* tape = c.tape())
    tape->record("linear", {out}, [x, w, b = keep(bias), w_in_out, out](Tape& g) {
      Tensor dx = g.grad(x), dw = g.grad(w);
      std::optional<Tensor> db = grad_of(g, b);
      g.backend().linear_backward(x, w, g.grad(out), w_in_out, &dx, &dw, ptr(db));
    });
  return out;
}

}  // namespace anatomy::ops
