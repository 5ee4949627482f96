#include "io/npy.h"

#include <cstdio>
#include <fstream>

#include "core/error.h"

namespace anatomy::io {

void write_npy(const std::string& path, const Tensor& t) {
  if (t.is_meta() || (t.dtype() != DType::F32 && t.dtype() != DType::I64))
    fail(ErrorKind::internal, "write_npy needs an F32 or I64 tensor with data");
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) shape += std::to_string(t.shape()[i]) + (t.shape().size() == 1 ? "," : i + 1 < t.shape().size() ? ", " : "");
  shape += ")";
  std::string header = std::string("{'descr': '") + (t.dtype() == DType::F32 ? "<f4" : "<i8") +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write("\x93NUMPY\x01\x00", 8);
    const auto n = static_cast<uint16_t>(header.size());
    out.put(static_cast<char>(n & 0xff));
    out.put(static_cast<char>(n >> 8));
    out << header;
    out.write(reinterpret_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
    if (!out.flush()) {
      std::remove(tmp.c_str());
      fail(ErrorKind::io, path + ": cannot write");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(ErrorKind::io, path + ": cannot write");
}

}  // namespace anatomy::io
