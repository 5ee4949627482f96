// The report as one offline HTML page: the same blocks as the Markdown, charts drawn by ECharts
// (SVG renderer) from the same chart specs, the Mermaid diagram rendered in the page, tables that
// sort, the report document embedded as JSON. Both libraries are embedded (assets.h); a
// Content-Security-Policy with default-src 'none' forbids every network request.
#include <fmt/format.h>

#include "report/assets.h"
#include "report/charts.h"
#include "report/page.h"

namespace anatomy::report {

namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    switch (ch) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

// The inline Markdown the composer writes (`code`, **bold**, &nbsp;) as HTML; everything else escaped.
std::string inline_html(const std::string& s) {
  std::string out;
  bool in_code = false, in_bold = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 6, "&nbsp;") == 0) {
      out += "&nbsp;";
      i += 5;
    } else if (s[i] == '`') {
      out += in_code ? "</code>" : "<code>";
      in_code = !in_code;
    } else if (!in_code && s.compare(i, 2, "**") == 0) {
      out += in_bold ? "</strong>" : "<strong>";
      in_bold = !in_bold;
      ++i;
    } else {
      out += escape(std::string(1, s[i]));
    }
  }
  if (in_code) out += "</code>";
  if (in_bold) out += "</strong>";
  return out;
}

// JSON inside <script>: "<" escaped so no "</script>" or "<!--" can end or change the element.
std::string script_json(const io::ordered_json& j) {
  std::string s = j.dump(-1, ' ', false, io::ordered_json::error_handler_t::replace), out;
  for (const char ch : s) out += ch == '<' ? std::string("\\u003c") : std::string(1, ch);
  return out;
}

// A JavaScript library inside <script>: a "</script" in its text would end the element early.
std::string script_text(std::string_view js) {
  std::string s(js);
  for (size_t i = 0; (i = s.find("</script", i)) != std::string::npos;) s.replace(i, 2, "<\\/");
  return s;
}

std::string html_table(const Block& b) {
  std::string out = "<table class=\"sortable\"><thead><tr>";
  for (size_t i = 0; i < b.header.size(); ++i)
    out += fmt::format("<th{}>{}</th>", i < b.right.size() && b.right[i] ? " class=\"num\"" : "", inline_html(b.header[i]));
  out += "</tr></thead><tbody>\n";
  for (const auto& row : b.rows) {
    out += "<tr>";
    for (size_t i = 0; i < row.size(); ++i)
      out += fmt::format("<td{}>{}</td>", i < b.right.size() && b.right[i] ? " class=\"num\"" : "", inline_html(row[i]));
    out += "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

constexpr const char* kStyle = R"(
body{font-family:"DejaVu Sans","Noto Sans CJK SC","Noto Sans CJK TC",sans-serif;margin:0;color:#1d1d1f;background:#fff}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:26px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:36px}
table{border-collapse:collapse;margin:12px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;vertical-align:top}
th{background:#f3f4f6;cursor:pointer;user-select:none}th.num,td.num{text-align:right}
th[data-order="asc"]::after{content:" ▲"}th[data-order="desc"]::after{content:" ▼"}
code{font-family:"DejaVu Sans Mono",monospace;font-size:12px;background:#f6f8fa;padding:0 2px}
.chart{width:100%;margin:16px 0}.mermaid{margin:16px 0;overflow-x:auto}
)";

// Draws every chart and the diagram, makes the tables sort, and records what it did (or the
// errors it met) on <body> for whoever checks the page.
constexpr const char* kGlue = R"(
(function(){
const errors=[];
window.addEventListener('error',e=>errors.push(String(e.message)));
const lang=document.documentElement.lang;
function num(s){s=s.replace(/[\s\u00a0\u202f]/g,'');s=lang==='ru'?s.replace(/,/g,'.'):s.replace(/,/g,'');const m=s.match(/^-?[0-9]*\.?[0-9]+(e[-+]?[0-9]+)?/i);return m?parseFloat(m[0]):NaN;}
document.querySelectorAll('table.sortable th').forEach((th,col)=>{th.addEventListener('click',()=>{
  const table=th.closest('table'),body=table.tBodies[0],rows=Array.from(body.rows);
  const asc=th.dataset.order!=='asc';table.querySelectorAll('th').forEach(h=>delete h.dataset.order);th.dataset.order=asc?'asc':'desc';
  rows.sort((a,b)=>{const x=a.cells[col].textContent,y=b.cells[col].textContent,nx=num(x),ny=num(y);
    const r=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?r:-r;});
  rows.forEach(r=>body.appendChild(r));});});
const specs=JSON.parse(document.getElementById('anatomy-charts').textContent);
let charts=0;
for(const s of specs){
  const el=document.getElementById('chart-'+s.name);if(!el)continue;
  const c=echarts.init(el,null,{renderer:'svg'});
  const series=s.series.map(x=>({name:x.name,type:s.kind==='bars'?'bar':'line',showSymbol:true,connectNulls:true,
    data:s.kind==='bars'?x.values:x.values.map((v,i)=>[s.x[i],v])}));
  const tip=s.kind==='bars'?{trigger:'axis',formatter:p=>p.map(q=>q.name+': '+q.value+(s.notes[q.dataIndex]?' ('+s.notes[q.dataIndex]+')':'')).join('<br>')}:{trigger:'axis'};
  const option=s.kind==='bars'
    ?{title:{text:s.title,left:'center'},tooltip:tip,grid:{left:8,right:40,top:40,bottom:30,containLabel:true},
      xAxis:{type:'value',name:s.value_axis,nameLocation:'middle',nameGap:24},
      yAxis:{type:'category',data:s.labels,inverse:true,axisLabel:{fontSize:10}},series}
    :{title:{text:s.title,left:'center'},tooltip:tip,legend:{bottom:0},grid:{left:60,right:30,top:40,bottom:60},
      xAxis:{type:s.log_x?'log':'value',name:s.x_axis,nameLocation:'middle',nameGap:28},
      yAxis:{type:s.log_y?'log':'value',name:s.value_axis},series};
  c.setOption(option);charts++;
}
const diagrams=window.mermaid&&document.querySelector('.mermaid')
  ?(mermaid.initialize({startOnLoad:false,securityLevel:'strict',theme:'default'}),mermaid.run({querySelector:'.mermaid'}))
  :Promise.resolve();
diagrams.catch(e=>errors.push(String(e))).finally(()=>{
  document.body.dataset.charts=String(charts);
  document.body.dataset.diagrams=String(document.querySelectorAll('.mermaid svg').length);
  document.body.dataset.errors=String(errors.length);
  if(errors.length)document.body.dataset.errorText=errors.join(' | ');
  document.body.dataset.status='rendered';
});
})();
)";

// One self-contained page: the style, the body, the JSON payloads, the libraries and the glue.
std::string html_page(Lang lang, const std::string& title, const std::string& body, const std::string& generator,
                 const io::ordered_json& document, const io::ordered_json& charts, bool diagrams) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
      "style-src 'unsafe-inline'; img-src data:; font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"{generator}; {libs}\">\n"
      "<title>{title}</title>\n<style>{style}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n{body}</main>\n"
      "<script type=\"application/json\" id=\"anatomy-report\">{report}</script>\n"
      "<script type=\"application/json\" id=\"anatomy-charts\">{charts}</script>\n"
      "<script>{echarts}</script>\n{mermaid}<script>{glue}</script>\n</body>\n</html>\n",
      fmt::arg("lang", lang_code(lang)), fmt::arg("generator", escape(generator)), fmt::arg("libs", assets::library_versions()),
      fmt::arg("title", escape(title)), fmt::arg("style", kStyle), fmt::arg("body", body), fmt::arg("report", script_json(document)),
      fmt::arg("charts", script_json(charts)), fmt::arg("echarts", script_text(assets::echarts_js())),
      fmt::arg("mermaid", diagrams ? "<script>" + script_text(assets::mermaid_js()) + "</script>\n" : std::string()),
      fmt::arg("glue", kGlue));
}

std::string chart_div(const std::string& name, size_t rows) {
  return fmt::format("<div class=\"chart\" id=\"chart-{}\" style=\"height:{}px\"></div>\n", name, std::max<size_t>(320, 90 + 18 * rows));
}

}  // namespace

std::string render_html(const std::vector<Section>& page, const io::ordered_json& report, const Catalog& c) {
  const std::string title = c.text("title", report.at("model").at("name").get<std::string>());
  io::ordered_json specs = io::ordered_json::array();
  for (const auto& s : chart_specs(report)) specs.push_back(chart_json(s, c));
  std::string body;
  for (const auto& section : page) {
    body += fmt::format("<section id=\"{}\">\n", section.name);
    for (const auto& b : section.blocks) {
      switch (b.kind) {
        case Block::Kind::heading: body += fmt::format("<h{0}>{1}</h{0}>\n", b.level, inline_html(b.text)); break;
        case Block::Kind::paragraph: body += "<p>" + inline_html(b.text) + "</p>\n"; break;
        case Block::Kind::bullets:
          body += "<ul>\n";
          for (const auto& i : b.items) body += "<li>" + inline_html(i) + "</li>\n";
          body += "</ul>\n";
          break;
        case Block::Kind::table: body += html_table(b); break;
        case Block::Kind::chart: {
          size_t rows = 12;
          for (const auto& s : specs)
            if (s.at("name") == b.text && s.at("kind") == "bars") rows = s.at("labels").size();
          body += chart_div(b.text, rows);
          break;
        }
        case Block::Kind::mermaid: body += "<pre class=\"mermaid\">\n" + escape(b.text) + "</pre>\n"; break;
      }
    }
    body += "</section>\n";
  }
  return html_page(c.lang(), title, body, "anatomy " + report.at("anatomy").at("version").get<std::string>(), report, specs, true);
}

std::string render_compare_html(const io::ordered_json& d) {
  const size_t n = d.at("documents").size();
  const Catalog c(Lang::en);
  std::string body = "<ol>\n";
  for (const auto& doc : d.at("documents"))
    body += "<li>" + escape(doc.at("label").get<std::string>()) + " — <code>" + escape(doc.at("file").get<std::string>()) + "</code></li>\n";
  body += "</ol>\n";
  Block t{.kind = Block::Kind::table, .header = {"figure", "unit", "better"}, .right = {false, false, false}};
  for (size_t i = 0; i < n; ++i) t.header.push_back(fmt::format("[{}]", i + 1)), t.right.push_back(true);
  for (size_t i = 1; i < n; ++i) t.header.push_back(fmt::format("[{}]/[1]", i + 1)), t.right.push_back(true);
  io::ordered_json chart = {{"name", "ratios"}, {"kind", "bars"}, {"title", "Ratio to [1]"}, {"value_axis", "×"}, {"x_axis", ""},
                            {"labels", io::ordered_json::array()}, {"notes", io::ordered_json::array()}, {"x", io::ordered_json::array()},
                            {"series", io::ordered_json::array()}, {"log_x", false}, {"log_y", false}};
  for (size_t i = 1; i < n; ++i) chart["series"].push_back({{"name", fmt::format("[{}]/[1]", i + 1)}, {"values", io::ordered_json::array()}});
  for (const auto& m : d.at("metrics")) {
    std::vector<std::string> row = {m.at("name"), m.at("unit"), m.at("better")};
    for (const auto& v : m.at("values")) row.push_back(v.is_null() ? "—" : fmt::format("{:.4g}", v.get<double>()));
    for (size_t i = 1; i < n; ++i) {
      const auto& r = m.at("ratios_to_first").at(i);
      row.push_back(r.is_null() ? "—" : fmt::format("{:.3f}×", r.get<double>()));
      chart["series"][i - 1]["values"].push_back(r);
    }
    chart["labels"].push_back(m.at("name"));
    t.rows.push_back(row);
  }
  body += html_table(t) + chart_div("ratios", d.at("metrics").size() * (n - 1));
  const std::string title = fmt::format("Comparison of {} {} documents", n, d.at("kind").get<std::string>());
  return html_page(Lang::en, title, "<section id=\"compare\">\n" + body + "</section>\n", "anatomy compare", d,
              io::ordered_json::array({chart}), false);
}

}  // namespace anatomy::report
