#include "net/event_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace ringkv::net {
namespace {

std::unique_ptr<EventLoop> NewLoop() {
  StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create(/*busy_poll_us=*/0);
  EXPECT_TRUE(loop.ok());
  return std::move(*loop);
}

TEST(EventLoopTest, CurrentNamesTheLoopRunningOnThisThreadOnly) {
  std::unique_ptr<EventLoop> loop = NewLoop();
  EXPECT_EQ(EventLoop::Current(), nullptr);
  EventLoop* seen = nullptr;
  loop->Post([&] {
    seen = EventLoop::Current();
    loop->Quit();
  });
  loop->Run();
  EXPECT_EQ(seen, loop.get());
  EXPECT_EQ(EventLoop::Current(), nullptr);
}

TEST(EventLoopTest, AtRoundEndRunsOnceAfterTheRoundsPostsAndBeforeOnRoundEnd) {
  std::unique_ptr<EventLoop> loop = NewLoop();
  std::vector<std::string> order;
  loop->OnRoundEnd([&] { order.push_back("round end"); });
  loop->Post([&] {
    order.push_back("post 1");
    loop->AtRoundEnd([&] {
      order.push_back("once");
      // Registered from a one-shot: runs in the same round.
      loop->AtRoundEnd([&] { order.push_back("once again"); });
    });
  });
  loop->Post([&] {
    order.push_back("post 2");
    loop->Quit();
  });
  loop->Run();
  EXPECT_EQ(order,
            (std::vector<std::string>{"post 1", "post 2", "once", "once again", "round end"}));
}

TEST(EventLoopTest, EveryPostOfABurstRunsAndPostsAfterTheTakeWakeTheLoopAgain) {
  std::unique_ptr<EventLoop> loop = NewLoop();
  std::atomic<int> ran{0};
  std::thread poster([&] {
    for (int i = 0; i < 1000; ++i) loop->Post([&] { ran.fetch_add(1); });
    // The last post comes once the loop may have taken all the others: it
    // must still wake the loop, or Run never returns.
    while (ran.load() < 1000) std::this_thread::yield();
    loop->Post([&] { loop->Quit(); });
  });
  loop->Run();
  poster.join();
  EXPECT_EQ(ran.load(), 1000);
}

}  // namespace
}  // namespace ringkv::net
