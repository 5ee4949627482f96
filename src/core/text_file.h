// Writing a whole small file (a config, a report, a checkpoint's JSON) in one call: a failure to
// open or write is one io error naming the file.
#pragma once

#include <string>
#include <string_view>

namespace anatomy {

void write_text_file(const std::string& path, std::string_view text);

}  // namespace anatomy
