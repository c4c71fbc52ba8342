// docs/configuration.md must list every setting of every table with the
// default the code really has (rendered from a default-built options struct).
// The doc's path comes from the build: RINGKV_CONFIGURATION_MD.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "node/node_settings.h"
#include "router/router_options.h"
#include "worker/worker_settings.h"

namespace ringkv::cli {
namespace {

std::string ReadDoc() {
  std::ifstream in(RINGKV_CONFIGURATION_MD);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The text of the section headed "## `<command>`", up to the next "## ".
std::string Section(const std::string& doc, const std::string& command) {
  const std::string head = "## `" + command + "`\n";
  size_t start = doc.find(head);
  if (start == std::string::npos) return "";
  size_t end = doc.find("\n## ", start + head.size());
  return doc.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::vector<std::string> Cells(const std::string& row) {
  std::vector<std::string> cells;
  std::stringstream in(row.substr(1));  // after the leading '|'
  std::string cell;
  while (std::getline(in, cell, '|')) {
    size_t b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
    cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  return cells;
}

// The table rows of a section, each as its cells; header and rule rows out.
std::vector<std::vector<std::string>> Rows(const std::string& section) {
  std::vector<std::vector<std::string>> rows;
  std::stringstream in(section);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("| `")) continue;
    rows.push_back(Cells(line));
  }
  return rows;
}

// The setting a row's first cell names: its first `quoted` word, with
// "--flag-name" and "health.interval_ms" read as flag_name, health_interval_ms.
std::string RowSetting(const std::string& key_cell) {
  size_t b = key_cell.find('`'), e = key_cell.find('`', b + 1);
  std::string name = key_cell.substr(b + 1, e - b - 1);
  if (name.starts_with("--")) name = name.substr(2);
  for (char& c : name) c = (c == '-' || c == '.') ? '_' : c;
  return name;
}

template <typename O>
void CheckSection(const std::string& command, const settings::Table<O>& table) {
  const std::string section = Section(ReadDoc(), command);
  ASSERT_FALSE(section.empty()) << "no section ## `" << command << "`";
  std::map<std::string, std::vector<std::string>> rows;
  for (auto& cells : Rows(section)) {
    ASSERT_GE(cells.size(), 3u) << cells[0];
    std::string name = RowSetting(cells[0]);
    EXPECT_NE(table.Find(name), nullptr)
        << command << ": the doc lists '" << name << "', which is no setting";
    rows[name] = cells;
  }
  for (const auto& s : table.settings()) {
    auto it = rows.find(s.name);
    if (it == rows.end()) {
      ADD_FAILURE() << command << ": docs/configuration.md has no row for " << s.name;
      continue;
    }
    const std::string& cell = it->second[1];
    const std::string def = table.Default(s);
    if (def.empty()) {
      EXPECT_TRUE(cell.starts_with("empty") || cell.starts_with("none"))
          << command << " " << s.name << ": the default is empty, the doc says '" << cell << "'";
    } else {
      EXPECT_NE(cell.find("`" + def + "`"), std::string::npos)
          << command << " " << s.name << ": the default is `" << def << "`, the doc says '" << cell
          << "'";
    }
  }
}

TEST(ConfigurationDocTest, ListsEveryNodeSettingWithItsDefault) {
  CheckSection("ringkv node", node::NodeSettings());
}

TEST(ConfigurationDocTest, ListsEveryRouterSettingWithItsDefault) {
  CheckSection("ringkv router", router::RouterSettings());
}

TEST(ConfigurationDocTest, ListsEveryWorkerSettingWithItsDefault) {
  CheckSection("ringkv worker", worker::WorkerSettings());
}

}  // namespace
}  // namespace ringkv::cli
