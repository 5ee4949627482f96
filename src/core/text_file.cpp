#include "core/text_file.h"

#include <fstream>

#include "core/error.h"

namespace anatomy {

void write_text_file(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) fail(ErrorKind::io, path + ": cannot write");
}

}  // namespace anatomy
