// libFuzzer target: a report.json that `anatomy report DIR/report.json` renders again — the strict
// JSON loader, then every section, the Markdown and the chart specifications of the report layer.
// A document lacking what a section reads must be refused (anatomy::Error), never crash.
#include <string_view>

#include "fuzz_input.h"
#include "io/json.h"
#include "report/page.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const anatomy::report::Catalog catalog(anatomy::report::Lang::ru);
  return anatomy::fuzz::run_one([&] {
    const anatomy::io::ordered_json doc =
        anatomy::io::parse_json(std::string_view(reinterpret_cast<const char*>(data), size), "report.json");
    anatomy::report::render(doc, catalog, false);
  });
}
