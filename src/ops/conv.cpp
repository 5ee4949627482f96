#include "ops/conv.h"

#include "ops/check.h"

namespace anatomy::ops {
using namespace detail;

Tensor causal_conv1d(const Context& c, const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& state) {
  require_rank("causal_conv1d", x, 3, "x [B, T, C]");
  const int64_t B = x.dim(0), T = x.dim(1), C = x.dim(2);
  if (weight.shape().size() != 3 || weight.dim(0) != C || weight.dim(1) != 1 || weight.dim(2) < 1)
    shape_error("causal_conv1d", fmt::format("weight {} for {} channels", shape_str(weight.shape()), C));
  const int64_t K = weight.dim(2);
  if (state.shape() != Shape{B, C, K - 1})
    shape_error("causal_conv1d", fmt::format("state {} (expected {})", shape_str(state.shape()), shape_str({B, C, K - 1})));
  if (bias && bias->numel() != static_cast<uint64_t>(C))
    shape_error("causal_conv1d", fmt::format("bias {} for {} channels", shape_str(bias->shape()), C));
  Tensor out = c.output(x.shape());
  // Depthwise: 2·B·T·C·K, not a dense C×C convolution.
  c.report("conv1d", {OpClass::conv, 2.0 * static_cast<double>(B * T * C * K), x.nbytes() + weight.nbytes(), out.nbytes()});
  if (bias) c.report("bias_add", elementwise(1, out.numel(), out.numel()));
  if (Tape* tape = c.tape()) {
    // The backward pass assumes the sequence starts from an empty state, as a training batch does.
    if (!c.meta()) check_zero_state("causal_conv1d", state);
    tape->record("causal_conv1d", {out}, [x, weight, b = keep(bias), out](Tape& g) {
      Tensor dx = g.grad(x), dw = g.grad(weight);
      std::optional<Tensor> db = grad_of(g, b);
      g.backend().causal_conv1d_backward(x, weight, g.grad(out), dx, dw, ptr(db));
    });
  }
  c.backend().causal_conv1d(x, weight, bias, state, out);
  return out;
}

}  // namespace anatomy::ops
