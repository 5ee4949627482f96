#include "ops/elementwise.h"

#include "ops/check.h"

namespace anatomy::ops {
using namespace detail;

Tensor activation(const Context& c, const Tensor& x, Activation act) {
  Tensor out = c.output(x.shape());
  c.report(activation_name(act), elementwise(1, x.numel(), x.numel()));
  c.backend().activation(x, act, out);
  if (Tape* tape = c.tape())
    tape->record("activation", {out}, [x, act, out](Tape& g) {
      Tensor dx = g.grad(x);
      g.backend().activation_backward(x, act, g.grad(out), dx);
    });
  return out;
}

Tensor binary(const Context& c, const Tensor& a, const Tensor& b, BinaryOp op) {
  const char* name = binary_op_name(op);
  const uint64_t bn = b.numel();
  if (bn == 0 || a.shape().empty() || b.shape().empty() || a.numel() % bn != 0 || b.dim(-1) != a.dim(-1))
    shape_error(name, fmt::format("cannot broadcast {} to {}", shape_str(b.shape()), shape_str(a.shape())));
  Tensor out = c.output(a.shape());
  c.report(name, elementwise(1, a.numel(), a.numel() + bn));
  c.backend().binary(a, b, op, out);
  if (Tape* tape = c.tape())
    tape->record("binary", {out}, [a, b, op, out](Tape& g) {
      Tensor da = g.grad(a), db = g.grad(b);
      g.backend().binary_backward(a, b, op, g.grad(out), &da, &db);
    });
  return out;
}

Tensor neg_exp(const Context& c, const Tensor& x) {
  Tensor out = c.output(x.shape());
  c.report("neg_exp", elementwise(1, x.numel(), x.numel()));
  c.backend().neg_exp(x, out);
  if (Tape* tape = c.tape())
    tape->record("neg_exp", {out}, [x, out](Tape& g) {
      Tensor dx = g.grad(x);
      g.backend().neg_exp_backward(out, g.grad(out), dx);
    });
  return out;
}

Tensor clamp(const Context& c, const Tensor& x, float lo, float hi) {
  if (x.dtype() != DType::F32 || !(lo <= hi)) shape_error("clamp", fmt::format("{} input, bounds [{}, {}]", dtype_name(x.dtype()), lo, hi));
  Tensor out = c.output(x.shape());
  c.report("clamp", elementwise(1, x.numel(), x.numel()));
  c.backend().clamp(x, lo, hi, out);
  if (Tape* tape = c.tape())
    tape->record("clamp", {out}, [x, lo, hi, out](Tape& g) {
      Tensor dx = g.grad(x);
      g.backend().clamp_backward(x, lo, hi, g.grad(out), dx);
    });
  return out;
}

Tensor slice_last(const Context& c, const Tensor& x, int64_t start, int64_t length) {
  if (x.shape().empty() || start < 0 || length < 0 || start + length > x.dim(-1))
    shape_error("slice_last", fmt::format("[{}, {}) outside {}", start, start + length, shape_str(x.shape())));
  Tensor out = c.output(with_last(x.shape(), length));
  c.report("slice", {OpClass::elementwise, 0, out.nbytes(), out.nbytes()});
  c.backend().slice_last(x, start, out);
  if (Tape* tape = c.tape())
    tape->record("slice_last", {out}, [x, start, out](Tape& g) {
      Tensor dx = g.grad(x);
      g.backend().slice_last_backward(g.grad(out), start, dx);
    });
  return out;
}

Tensor concat_last(const Context& c, const Tensor& a, const Tensor& b) {
  if (a.shape().empty() || a.shape().size() != b.shape().size() || rows(a) != rows(b))
    shape_error("concat_last", fmt::format("{} and {}", shape_str(a.shape()), shape_str(b.shape())));
  Tensor out = c.output(with_last(a.shape(), a.dim(-1) + b.dim(-1)));
  c.report("concat", {OpClass::elementwise, 0, out.nbytes(), out.nbytes()});
  c.backend().concat_last(a, b, out);
  if (Tape* tape = c.tape())
    tape->record("concat_last", {out}, [a, b, out](Tape& g) {  // each part's gradient is its slice of d(out)
      const Tensor dout = g.grad(out);
      for (const auto& [part, start] : {std::pair{a, int64_t{0}}, std::pair{b, a.dim(-1)}}) {
        Tensor slice = g.backend().allocate(DType::F32, part.shape()), dpart = g.grad(part);
        g.backend().slice_last(dout, start, slice);
        g.backend().accumulate(dpart, slice);
      }
    });
  return out;
}

Tensor dropout(const Context& c, const Tensor& x, double p) {
  const std::optional<uint64_t> seed = p > 0 ? c.next_dropout_seed() : std::nullopt;
  if (!seed) return x;  // inference, or p = 0: the identity
  if (p >= 1) shape_error("dropout", fmt::format("probability {} must be below 1", p));
  Tensor out = c.output(x.shape());
  c.report("dropout", elementwise(1, x.numel(), x.numel()));
  c.backend().dropout(x, static_cast<float>(p), *seed, out);
  if (Tape* tape = c.tape())
    tape->record("dropout", {out}, [x, p, seed = *seed, out](Tape& g) {
      Tensor dx = g.grad(x);
      g.backend().dropout_backward(g.grad(out), static_cast<float>(p), seed, dx);
    });
  return out;
}

}  // namespace anatomy::ops
