#include "ops/cache.h"

#include "ops/check.h"

namespace anatomy::ops {
using namespace detail;

void write_time(const Context& c, Tensor& dst, const Tensor& src, int64_t at) {
  if (dst.shape().size() != src.shape().size() || src.shape().size() < 2 || dst.dim(0) != src.dim(0) || at < 0 ||
      at + src.dim(1) > dst.dim(1) || !std::equal(dst.shape().begin() + 2, dst.shape().end(), src.shape().begin() + 2))
    shape_error("write_time", fmt::format("{} at step {} into {}", shape_str(src.shape()), at, shape_str(dst.shape())));
  c.report("cache_write", {OpClass::elementwise, 0, src.nbytes(), src.nbytes()});
  c.backend().write_time(dst, src, at);
  if (Tape* tape = c.tape())
    tape->record("write_time", {dst}, [dst, src, at](Tape& g) {
      Tensor dsrc = g.grad(src);
      g.backend().write_time_backward(g.grad(dst), at, dsrc);
    });
}

Tensor slice_time(const Context& c, const Tensor& src, int64_t start, int64_t length) {
  if (src.shape().size() < 2 || start < 0 || length < 0 || start + length > src.dim(1))
    shape_error("slice_time", fmt::format("steps [{}, {}) of {}", start, start + length, shape_str(src.shape())));
  Shape s = src.shape();
  s[1] = length;
  Tensor out = c.output(s);
  c.report("slice_time", {OpClass::elementwise, 0, out.nbytes(), out.nbytes()});
  c.backend().slice_time(src, start, out);
  if (Tape* tape = c.tape())
    tape->record("slice_time", {out}, [src, start, out](Tape& g) {
      Tensor dsrc = g.grad(src);
      g.backend().slice_time_backward(g.grad(out), start, dsrc);
    });
  return out;
}

}  // namespace anatomy::ops
