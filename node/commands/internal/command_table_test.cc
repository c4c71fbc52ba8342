// Tests of the node's command table: handlers attached to the shared specs.
#include "node/commands/internal/command_table.h"

#include <gtest/gtest.h>

namespace ringkv::node::internal {
namespace {

TEST(NodeCommandTable, ServesItsCommandsWithTheSharedSpecs) {
  ASSERT_GT(Commands().size(), 1u);
  EXPECT_EQ(Commands()[0].name, "unknown");
  EXPECT_EQ(Commands()[0].handler, nullptr);
  for (const CommandSpec& c : Commands().subspan(1)) {
    EXPECT_NE(c.handler, nullptr) << c.name;
    EXPECT_EQ(FindCommand(c.name), &c) << c.name;
    const net::command::CommandSpec* shared = net::command::FindCommand(c.name);
    ASSERT_NE(shared, nullptr) << c.name;
    EXPECT_EQ(c.arity, shared->arity) << c.name;
    EXPECT_EQ(c.flags, shared->flags) << c.name;
    EXPECT_EQ(c.first_key, shared->first_key) << c.name;
    EXPECT_EQ(c.last_key, shared->last_key) << c.name;
    EXPECT_EQ(c.key_step, shared->key_step) << c.name;
    EXPECT_EQ(c.merge, shared->merge) << c.name;
  }
}

TEST(NodeCommandTable, CommandsItDoesNotServeAreUnknown) {
  EXPECT_EQ(FindCommand("GET"), FindCommand("get"));
  EXPECT_EQ(FindCommand("hset"), nullptr);  // in the shared table, not served here
  EXPECT_EQ(FindCommand("multi"), nullptr);
  EXPECT_EQ(FindCommand("nosuchcommand"), nullptr);
  EXPECT_EQ(CommandIndex(nullptr), 0u);
  EXPECT_EQ(Commands()[CommandIndex(FindCommand("mget"))].name, "mget");
}

}  // namespace
}  // namespace ringkv::node::internal
