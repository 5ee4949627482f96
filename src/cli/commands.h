// One function per anatomy command; main.cpp wires them to the command line.
#pragma once

#include <string>

namespace anatomy::cli {

struct InspectOptions {
  std::string model;
  std::string format = "table";
  size_t max_tensors = 0;  // 0 = all
};

// Each returns the text to print (nothing is printed before the whole result is ready).
std::string inspect_command(const InspectOptions& options);
std::string models_command(const std::string& format);

}  // namespace anatomy::cli
