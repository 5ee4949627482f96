#include "ops/ssm.h"

#include "ops/check.h"

namespace anatomy::ops {
using namespace detail;

Tensor ssm_scan(const Context& c, const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm,
                const Tensor& Cm, const Tensor& D, Tensor& state) {
  require_rank("ssm_scan", x, 4, "x [B, T, H, P]");
  const int64_t B = x.dim(0), T = x.dim(1), H = x.dim(2), P = x.dim(3);
  require_rank("ssm_scan", Bm, 4, "B [B, T, G, N]");
  const int64_t G = Bm.dim(2), N = Bm.dim(3);
  if (dt.shape() != Shape{B, T, H} || A.numel() != static_cast<uint64_t>(H) || D.numel() != static_cast<uint64_t>(H) ||
      Cm.shape() != Bm.shape() || Bm.dim(0) != B || Bm.dim(1) != T || G < 1 || H % G != 0 ||
      state.shape() != Shape{B, H, P, N})
    shape_error("ssm_scan", fmt::format("x {}, dt {}, A {}, B {}, C {}, D {}, state {}", shape_str(x.shape()),
                                        shape_str(dt.shape()), shape_str(A.shape()), shape_str(Bm.shape()),
                                        shape_str(Cm.shape()), shape_str(D.shape()), shape_str(state.shape())));
  Tensor out = c.output(x.shape());
  // Recurrent form per token and head: dt·x (P), decay (P·N), + dt·x⊗B (2PN), S·C (2PN), + D·x (2P).
  c.report("ssm_scan", {OpClass::ssm, static_cast<double>(B * T * H) * (5.0 * static_cast<double>(P * N) + 3.0 * static_cast<double>(P)),
                        x.nbytes() + 2 * Bm.nbytes() + dt.nbytes() + state.nbytes(), out.nbytes() + state.nbytes()});
  if (Tape* tape = c.tape()) {
    if (!c.meta()) check_zero_state("ssm_scan", state);
    tape->record("ssm_scan", {out}, [x, dt, A, Bm, Cm, D, out](Tape& g) {
      Tensor dx = g.grad(x), ddt = g.grad(dt), dA = g.grad(A), dB = g.grad(Bm), dC = g.grad(Cm), dD = g.grad(D);
      g.backend().ssm_scan_backward(x, dt, A, Bm, Cm, D, g.grad(out), dx, ddt, dA, dB, dC, dD);
    });
  }
  c.backend().ssm_scan(x, dt, A, Bm, Cm, D, state, out);
  return out;
}

}  // namespace anatomy::ops
