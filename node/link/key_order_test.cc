#include "node/link/key_order.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringkv::node {
namespace {

using Keys = std::vector<std::string>;
using Ids = std::vector<uint64_t>;

TEST(KeyOrderTest, WithNothingDeferredEverythingRunsAtOnce) {
  KeyOrder order;
  EXPECT_TRUE(order.idle());
  EXPECT_TRUE(order.Admit(1, Keys{"a"}));
  EXPECT_TRUE(order.Admit(2, Keys{"a"}));
  EXPECT_TRUE(order.idle());
}

TEST(KeyOrderTest, CommandsOnADeferredKeyWaitInArrivalOrderOthersRun) {
  KeyOrder order;
  order.Running(1, Keys{"k"});  // SET k, its reply deferred
  EXPECT_FALSE(order.idle());
  EXPECT_FALSE(order.Admit(2, Keys{"k"}));  // GET k waits
  EXPECT_TRUE(order.Admit(3, Keys{"j"}));   // GET j does not
  EXPECT_FALSE(order.Admit(4, Keys{"j", "k"}));
  EXPECT_FALSE(order.Admit(5, Keys{"j"}));  // behind 4, which waits holding j
  EXPECT_EQ(order.waiting(), 3u);
  // 1 answers: 2 may run; 4 still waits behind 2 on k, and 5 behind 4.
  EXPECT_EQ(order.Done(1), (Ids{2}));
  EXPECT_EQ(order.Done(2), (Ids{4}));  // 2 answered at once
  EXPECT_EQ(order.Done(4), (Ids{5}));
  EXPECT_EQ(order.Done(5), Ids{});
  EXPECT_TRUE(order.idle());
}

TEST(KeyOrderTest, AHandedBackCommandThatDefersKeepsItsKeysHeld) {
  KeyOrder order;
  order.Running(1, Keys{"k"});
  EXPECT_FALSE(order.Admit(2, Keys{"k"}));
  EXPECT_FALSE(order.Admit(3, Keys{"k"}));
  EXPECT_EQ(order.Done(1), (Ids{2}));
  order.Running(2, Keys{"k"});  // 2 ran and deferred in turn
  EXPECT_FALSE(order.Admit(4, Keys{"k"}));
  EXPECT_EQ(order.Done(2), (Ids{3}));
  EXPECT_EQ(order.Done(3), (Ids{4}));
  EXPECT_EQ(order.Done(4), Ids{});
  EXPECT_TRUE(order.idle());
}

TEST(KeyOrderTest, SeveralWaitingCommandsOnOtherKeysAreFreedTogether) {
  KeyOrder order;
  order.Running(1, Keys{"a", "b"});  // MSET a b, deferred
  EXPECT_FALSE(order.Admit(2, Keys{"a"}));
  EXPECT_FALSE(order.Admit(3, Keys{"b"}));
  EXPECT_TRUE(order.Admit(4, Keys{"c"}));
  EXPECT_EQ(order.Done(1), (Ids{2, 3}));
  EXPECT_EQ(order.Done(3), Ids{});
  EXPECT_EQ(order.Done(2), Ids{});
  EXPECT_TRUE(order.idle());
}

TEST(KeyOrderTest, KeylessCommandsNeverWait) {
  KeyOrder order;
  order.Running(1, Keys{"k"});
  EXPECT_TRUE(order.Admit(2, Keys{}));
  order.Running(3, Keys{});  // a keyless deferred command holds nothing
  EXPECT_EQ(order.Done(3), Ids{});
  EXPECT_EQ(order.Done(1), Ids{});
  EXPECT_TRUE(order.idle());
}

}  // namespace
}  // namespace ringkv::node
