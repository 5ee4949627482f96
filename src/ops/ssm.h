// The Mamba2 selective scan (state-space recurrence).
#pragma once

#include "ops/context.h"

namespace anatomy::ops {

// §3.6, recurrent form: x [B,T,H,P], dt [B,T,H] (after softplus), A [H] (negative), Bm and Cm
// [B,T,G,N], D [H]; state [B,H,P,N] updated. Returns y [B,T,H,P].
// B·T·H·(5·P·N + 3·P) FLOPs (ssm class).
Tensor ssm_scan(const Context& c, const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm,
                const Tensor& Cm, const Tensor& D, Tensor& state);

}  // namespace anatomy::ops
