#include "ops/norm.h"

#include "ops/check.h"

namespace anatomy::ops {
using namespace detail;

Tensor rms_norm(const Context& c, const Tensor& x, const Tensor& weight, double eps) {
  if (x.shape().empty() || weight.numel() != static_cast<uint64_t>(x.dim(-1)))
    shape_error("rms_norm", fmt::format("weight {} for input {}", shape_str(weight.shape()), shape_str(x.shape())));
  Tensor out = c.output(x.shape());
  c.report("rms_norm", {OpClass::norm, 4.0 * static_cast<double>(x.numel()), x.nbytes() + weight.nbytes(), out.nbytes()});
  c.backend().rms_norm(x, weight, static_cast<float>(eps), out);
  if (Tape* tape = c.tape())
    tape->record("rms_norm", {out}, [x, weight, eps, out](Tape& g) {
      Tensor dx = g.grad(x), dw = g.grad(weight);
      g.backend().rms_norm_backward(x, weight, static_cast<float>(eps), g.grad(out), dx, &dw);
    });
  return out;
}

Tensor layer_norm(const Context& c, const Tensor& x, const Tensor& weight, const Tensor* bias, double eps) {
  if (x.shape().empty() || weight.numel() != static_cast<uint64_t>(x.dim(-1)) || (bias && bias->numel() != weight.numel()))
    shape_error("layer_norm", fmt::format("weight {} for input {}", shape_str(weight.shape()), shape_str(x.shape())));
  Tensor out = c.output(x.shape());
  c.report("layer_norm", {OpClass::norm, 8.0 * static_cast<double>(x.numel()), x.nbytes() + 2 * weight.nbytes(), out.nbytes()});
  c.backend().layer_norm(x, weight, bias, static_cast<float>(eps), out);
  if (Tape* tape = c.tape())
    tape->record("layer_norm", {out}, [x, weight, b = keep(bias), eps, out](Tape& g) {
      Tensor dx = g.grad(x), dw = g.grad(weight);
      std::optional<Tensor> db = grad_of(g, b);
      g.backend().layer_norm_backward(x, weight, static_cast<float>(eps), g.grad(out), dx, &dw, ptr(db));
    });
  return out;
}

Tensor gated_rms_norm(const Context& c, const Tensor& y, const Tensor& z, const Tensor& weight, int64_t groups, double eps) {
  if (y.shape() != z.shape() || y.shape().empty() || groups < 1 || weight.numel() != static_cast<uint64_t>(y.dim(-1)) ||
      y.dim(-1) % groups != 0)
    shape_error("gated_rms_norm", fmt::format("y {}, gate {}, weight {}, {} groups", shape_str(y.shape()),
                                              shape_str(z.shape()), shape_str(weight.shape()), groups));
  Tensor out = c.output(y.shape());
  c.report("gated_rms_norm", {OpClass::norm, 6.0 * static_cast<double>(y.numel()), 2 * y.nbytes() + weight.nbytes(), out.nbytes()});
  c.backend().gated_rms_norm(y, z, weight, groups, static_cast<float>(eps), out);
  if (Tape* tape = c.tape())
    tape->record("gated_rms_norm", {out}, [y, z, weight, groups, eps, out](Tape& g) {
      Tensor dy = g.grad(y), dz = g.grad(z), dw = g.grad(weight);
      g.backend().gated_rms_norm_backward(y, z, weight, groups, static_cast<float>(eps), g.grad(out), dy, dz, &dw);
    });
  return out;
}

}  // namespace anatomy::ops
