// The kinds every layer names the same way: the device a storage lives on, the element-wise
// activations and the binary ops. Defined once here, below nn, ops and the backends, so no layer
// translates one enum into another.
#pragma once

namespace anatomy {

// Where a tensor's bytes live. meta: nowhere (shape and dtype only).
enum class Device { meta, cpu, cuda };
const char* device_name(Device d);

// nn's activation modules and the ops' activation kernel; softplus is Mamba2's dt transform.
enum class Activation { silu, gelu, gelu_tanh, relu, relu2, softplus };
const char* activation_name(Activation a);

// Element-wise binary ops; the second operand may broadcast over leading dimensions.
enum class BinaryOp { add, mul };
const char* binary_op_name(BinaryOp op);

}  // namespace anatomy
