#include "ops/embedding.h"

#include "ops/check.h"

namespace anatomy::ops {
using namespace detail;

Tensor embedding(const Context& c, const Tensor& weight, const Tensor& ids) {
  require_rank("embedding", weight, 2, "weight");
  require_rank("embedding", ids, 2, "ids");
  if (ids.dtype() != DType::I32 && ids.dtype() != DType::I64) shape_error("embedding", "ids must be I32 or I64");
  Tensor out = c.output({ids.dim(0), ids.dim(1), weight.dim(1)});
  // Cost: no arithmetic; one row of the table read per token.
  c.report("embedding", {OpClass::embedding, 0, ids.nbytes() + out.numel() * dtype_info(weight.dtype()).block_bytes,
                         out.nbytes()});
  c.backend().embedding(weight, ids, out);
  if (Tape* tape = c.tape())
    tape->record("embedding", {out}, [weight, ids, out](Tape& g) {
      Tensor dw = g.grad(weight);
      g.backend().embedding_backward(g.grad(out), ids, dw);
    });
  return out;
}

Tensor sinusoid_table(const Context& c, int64_t tokens, int64_t dim) {
  Tensor out = c.output({tokens, dim});
  c.report("position_table", {OpClass::embedding, 0, 0, out.nbytes()});
  c.backend().sinusoid_table(out);
  return out;
}

Tensor positions(const Context& c, int64_t batch, int64_t tokens, int64_t past) {
  Tensor out = c.output({batch, tokens}, DType::I64);
  c.backend().positions(past, out);
  return out;
}

}  // namespace anatomy::ops
