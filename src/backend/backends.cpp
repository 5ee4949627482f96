// Backends by name, and what a build without CUDA says when asked for it.
#include <cstring>

#include <fmt/format.h>

#include "backend/backend.h"
#include "backend/device.h"
#include "core/error.h"

namespace anatomy::backend {

std::shared_ptr<const Backend> for_device(const std::string& name) {
  if (name == "cpu") return cpu();
  if (name == "cuda") return cuda();
  fail(ErrorKind::config, fmt::format("--device {}: unknown device (cpu or cuda)", name));
}

void Backend::unsupported(const char* op) const {
  if (device() == Device::meta) return;
  fail(ErrorKind::device, fmt::format("{}: not available on the {} backend (training runs on the CPU)", op,
                                      device_name(device())));
}

std::unique_ptr<Recording> Backend::record(const std::function<void()>&) const { return nullptr; }

void Backend::require_copyable(const Tensor& dst, const Tensor& host) {
  if (dst.nbytes() != host.nbytes() || dst.dtype() != host.dtype() || host.device() != Device::cpu || !host.is_contiguous())
    fail(ErrorKind::internal, fmt::format("copy_in: {} {} into {} {}", dtype_name(host.dtype()), shape_str(host.shape()),
                                          dtype_name(dst.dtype()), shape_str(dst.shape())));
}

void Backend::copy_in(Tensor& dst, const Tensor& host) const {
  require_copyable(dst, host);
  if (dst.nbytes() > 0) std::memcpy(dst.raw(), host.raw(), dst.nbytes());
}

bool Backend::fuses_linears(const Tensor&, const std::vector<Tensor>&, std::optional<Activation>) const { return false; }

void Backend::linear_group(const Tensor& x, const std::vector<Tensor>& ws, const std::vector<const Tensor*>& biases,
                           std::vector<Tensor>& outs) const {
  for (size_t i = 0; i < ws.size(); ++i) linear(x, ws[i], biases[i], false, outs[i]);
}

void Backend::gated_linear(const Tensor& x, const Tensor& w_gate, const Tensor& w_up, Activation act, Tensor& out) const {
  Tensor gate = allocate(DType::F32, out.shape()), up = allocate(DType::F32, out.shape());
  linear(x, w_gate, nullptr, false, gate);
  linear(x, w_up, nullptr, false, up);
  Tensor activated = allocate(DType::F32, out.shape());
  activation(gate, act, activated);
  binary(activated, up, BinaryOp::mul, out);
}

// Training's operations, for backends without them (the CPU backend overrides each).
void Backend::dropout(const Tensor&, float, uint64_t, Tensor&) const { unsupported("dropout"); }
void Backend::fill_zero(Tensor&) const { unsupported("fill_zero"); }
void Backend::accumulate(Tensor&, const Tensor&) const { unsupported("accumulate"); }
void Backend::embedding_backward(const Tensor&, const Tensor&, Tensor&) const { unsupported("embedding_backward"); }
void Backend::linear_backward(const Tensor&, const Tensor&, const Tensor&, bool, Tensor*, Tensor*, Tensor*) const { unsupported("linear_backward"); }
void Backend::rms_norm_backward(const Tensor&, const Tensor&, float, const Tensor&, Tensor&, Tensor*) const { unsupported("rms_norm_backward"); }
void Backend::layer_norm_backward(const Tensor&, const Tensor&, float, const Tensor&, Tensor&, Tensor*, Tensor*) const { unsupported("layer_norm_backward"); }
void Backend::gated_rms_norm_backward(const Tensor&, const Tensor&, const Tensor&, int64_t, float, const Tensor&, Tensor&, Tensor&, Tensor*) const { unsupported("gated_rms_norm_backward"); }
void Backend::activation_backward(const Tensor&, Activation, const Tensor&, Tensor&) const { unsupported("activation_backward"); }
void Backend::binary_backward(const Tensor&, const Tensor&, BinaryOp, const Tensor&, Tensor*, Tensor*) const { unsupported("binary_backward"); }
void Backend::neg_exp_backward(const Tensor&, const Tensor&, Tensor&) const { unsupported("neg_exp_backward"); }
void Backend::clamp_backward(const Tensor&, float, float, const Tensor&, Tensor&) const { unsupported("clamp_backward"); }
void Backend::dropout_backward(const Tensor&, float, uint64_t, Tensor&) const { unsupported("dropout_backward"); }
void Backend::slice_last_backward(const Tensor&, int64_t, Tensor&) const { unsupported("slice_last_backward"); }
void Backend::rope_backward(const Tensor&, const std::vector<float>&, int64_t, Tensor&) const { unsupported("rope_backward"); }
void Backend::attention_backward(const Tensor&, const Tensor&, const Tensor&, const AttentionArgs&, const Tensor&, Tensor&, Tensor&, Tensor&) const { unsupported("attention_backward"); }
void Backend::causal_conv1d_backward(const Tensor&, const Tensor&, const Tensor&, Tensor&, Tensor&, Tensor*) const { unsupported("causal_conv1d_backward"); }
void Backend::ssm_scan_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, Tensor&, Tensor&, Tensor&, Tensor&, Tensor&, Tensor&) const { unsupported("ssm_scan_backward"); }
void Backend::write_time_backward(const Tensor&, int64_t, Tensor&) const { unsupported("write_time_backward"); }
void Backend::slice_time_backward(const Tensor&, int64_t, Tensor&) const { unsupported("slice_time_backward"); }
void Backend::cross_entropy_backward(const Tensor&, const Tensor&, int64_t, const Tensor&, Tensor&) const { unsupported("cross_entropy_backward"); }

#ifndef ANATOMY_HAVE_CUDA
bool cuda_available(std::string* why) {
  if (why) *why = "this anatomy was built without the CUDA backend (configure with -DANATOMY_CUDA=ON where nvcc ≥ 12 is installed)";
  return false;
}

std::shared_ptr<const Backend> cuda() {
  std::string why;
  cuda_available(&why);
  fail(ErrorKind::device, "--device cuda: " + why);
}

GpuInfo gpu_info() { cuda(); return {}; }
uint64_t gpu_free_memory() { cuda(); return 0; }
double gpu_read_gbs(uint64_t, int) { cuda(); return 0; }
double gpu_copy_gbs(uint64_t, int) { cuda(); return 0; }
#endif

}  // namespace anatomy::backend
