#include "core/kinds.h"

namespace anatomy {

const char* device_name(Device d) {
  switch (d) {
    case Device::meta: return "meta";
    case Device::cpu: return "cpu";
    case Device::cuda: return "cuda";
  }
  return "?";
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::silu: return "silu";
    case Activation::gelu: return "gelu";
    case Activation::gelu_tanh: return "gelu_tanh";
    case Activation::relu: return "relu";
    case Activation::relu2: return "relu2";
    case Activation::softplus: return "softplus";
  }
  return "?";
}

const char* binary_op_name(BinaryOp op) { return op == BinaryOp::add ? "add" : "mul"; }

}  // namespace anatomy
