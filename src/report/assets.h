// Files embedded in the binary at build time (assets.S): the message catalogs and the JavaScript
// libraries of the HTML page (ECharts and Mermaid, installed from npm by scripts/install-deps.sh,
// pinned in src/report/web/package.json, never committed).
#pragma once

#include <string_view>

namespace anatomy::report::assets {

std::string_view messages_en();
std::string_view messages_ru();
std::string_view messages_zh_tw();
std::string_view messages_zh_cn();
std::string_view echarts_js();
std::string_view mermaid_js();
// "echarts 6.1.0, mermaid 11.17.2": the versions embedded, from their package.json files.
std::string_view library_versions();

}  // namespace anatomy::report::assets
