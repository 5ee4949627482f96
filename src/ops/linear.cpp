#include "ops/linear.h"

#include "ops/check.h"

namespace anatomy::ops {
using namespace detail;

namespace {

// The output width N of x·W (+ b), after checking the shapes.
int64_t check_linear(const Tensor& x, const Tensor& w, const Tensor* bias, bool w_in_out) {
  require_rank("linear", w, 2, "weight");
  if (x.shape().empty()) shape_error("linear", "input must have at least one dimension");
  const int64_t K = x.dim(-1), N = w_in_out ? w.dim(1) : w.dim(0);
  if ((w_in_out ? w.dim(0) : w.dim(1)) != K)
    shape_error("linear", fmt::format("input {} does not match weight {}{}", shape_str(x.shape()), shape_str(w.shape()),
                                      w_in_out ? " ([in, out])" : " ([out, in])"));
  if (bias && (bias->shape().size() != 1 || bias->dim(0) != N))
    shape_error("linear", fmt::format("bias {} does not match {} outputs", shape_str(bias->shape()), N));
  return N;
}

// 2·M·N·K multiply-adds counted as 2 FLOPs each; weights read once.
Cost gemm_cost(OpClass cls, const Tensor& x, const Tensor& w, int64_t N, uint64_t bytes_written) {
  return {cls, 2.0 * static_cast<double>(rows(x)) * static_cast<double>(N) * static_cast<double>(x.dim(-1)),
          x.nbytes() + w.nbytes(), bytes_written};
}

void refuse_tape(const Context& c, const char* op) {
  if (c.tape()) fail(ErrorKind::internal, fmt::format("[{}] runs for inference only (no backward step)", op));
}

}  // namespace

Tensor linear(const Context& c, const Tensor& x, const Tensor& w, const Tensor* bias, OpClass cls, bool w_in_out) {
  const int64_t N = check_linear(x, w, bias, w_in_out);
  Tensor out = c.output(with_last(x.shape(), N));
  c.report(cls == OpClass::head ? "lm_head" : "linear", gemm_cost(cls, x, w, N, out.nbytes()));
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

bool fuses_linears(const Context& c, const Tensor& x, const std::vector<Tensor>& ws, std::optional<Activation> gated) {
  return !c.tape() && c.backend().fuses_linears(x, ws, gated);
}

std::vector<Tensor> linear_group(const Context& c, const Tensor& x, const std::vector<Tensor>& ws,
                                 const std::vector<const Tensor*>& biases) {
  refuse_tape(c, "linear_group");
  if (ws.empty() || ws.size() != biases.size())
    shape_error("linear_group", fmt::format("{} weights and {} biases", ws.size(), biases.size()));
  std::vector<Tensor> outs;
  for (size_t i = 0; i < ws.size(); ++i) {
    const int64_t N = check_linear(x, ws[i], biases[i], false);
    outs.push_back(c.output(with_last(x.shape(), N)));
    c.report("linear", gemm_cost(OpClass::linear, x, ws[i], N, outs.back().nbytes()));
    if (biases[i]) c.report("bias_add", elementwise(1, outs.back().numel(), outs.back().numel() + static_cast<uint64_t>(N)));
  }
  c.backend().linear_group(x, ws, biases, outs);
  return outs;
}

Tensor gated_linear(const Context& c, const Tensor& x, const Tensor& w_gate, const Tensor& w_up, Activation act) {
  refuse_tape(c, "gated_linear");
  const int64_t N = check_linear(x, w_gate, nullptr, false);
  if (check_linear(x, w_up, nullptr, false) != N)
    shape_error("gated_linear", fmt::format("gate {} and up {} differ", shape_str(w_gate.shape()), shape_str(w_up.shape())));
  Tensor out = c.output(with_last(x.shape(), N));
  c.report("linear", gemm_cost(OpClass::linear, x, w_gate, N, 0));
  Cost up = gemm_cost(OpClass::linear, x, w_up, N, 0);
  up.bytes_read = w_up.nbytes();  // x is read once for both
  c.report("linear", up);
  const auto n = static_cast<double>(out.numel());
  c.report(activation_name(act), {OpClass::elementwise, n, 0, 0});
  c.report("mul", {OpClass::elementwise, n, 0, out.nbytes()});
  c.backend().gated_linear(x, w_gate, w_up, act, out);
  return out;
}

}  // namespace anatomy::ops
