// Built-in catalog: named architectures usable with no file at all. Each entry is a config.json
// in the project's own format (catalog/<name>.json, embedded at build time) with an
// "anatomy_catalog" block holding its description.
#pragma once

#include <string>
#include <vector>

#include "io/json.h"

namespace anatomy::models {

struct CatalogEntry {
  std::string name;
  std::string description;
  io::json config;  // without the anatomy_catalog block
};

const std::vector<CatalogEntry>& catalog();
const CatalogEntry* find_catalog(const std::string& name);

}  // namespace anatomy::models
