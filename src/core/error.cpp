#include "core/error.h"

#include <cstdio>
#include <cstdlib>

namespace anatomy {

Error::Error(ErrorKind kind, const std::string& message)
    : std::runtime_error(message), kind_(kind), message_(message), full_(message) {}

Error& Error::with_context(const std::string& context) {
  context_.push_back(context);
  full_ = message_;
  for (const auto& c : context_) full_ = c + ": " + full_;
  return *this;
}

void fail(ErrorKind kind, const std::string& message) { throw Error(kind, message); }

void fail_at(ErrorKind kind, const std::string& file, const std::string& field,
             const std::string& message) {
  std::string where = file;
  if (!field.empty()) where += where.empty() ? field : ": " + field;
  throw Error(kind, where.empty() ? message : where + ": " + message);
}

void assert_fail(const char* cond, const char* file, int line) {
  std::fprintf(stderr, "anatomy: internal error: %s (%s:%d)\n", cond, file, line);
  std::abort();
}

}  // namespace anatomy
