#include "ops/context.h"

namespace anatomy::ops {

const char* op_class_name(OpClass c) {
  switch (c) {
    case OpClass::linear: return "linear";
    case OpClass::attention: return "attention";
    case OpClass::ssm: return "ssm";
    case OpClass::conv: return "conv";
    case OpClass::norm: return "norm";
    case OpClass::elementwise: return "elementwise";
    case OpClass::embedding: return "embedding";
    case OpClass::head: return "head";
  }
  return "?";
}

}  // namespace anatomy::ops
