// EventLoop: one I/O thread's epoll set, its mailbox and its timers.
//
// A loop watches file descriptors, each with an IoHandler; runs functions
// posted from any thread (an eventfd wakes it); and runs periodic timers.
// Run() owns the calling thread until Quit(). A thread driven by another
// reactor (the router proxy's Asio io_context) instead waits for fd() to
// become readable and calls Poll(), which runs what is ready without
// blocking; there timers run only when Poll() happens to be called.
//
// After a round with events, Run() polls without sleeping for busy_poll_us
// before it sleeps again: a request arriving within that window finds the
// thread awake, so the sender's send() need not also wake a sleeping thread
// (on a VM, an IPI and a halted vCPU to resume), which costs the sender
// microseconds per request. An idle loop still sleeps.
//
// Thread safety: Post, Every and mailbox() from any thread; the rest on the
// loop's thread (before the thread starts: from the creating thread).
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "base/status.h"
#include "base/thread_annotations.h"

namespace ringkv::net {

// Receives the epoll events of one watched file descriptor.
class IoHandler {
 public:
  virtual void OnIoEvents(uint32_t events) = 0;

 protected:
  ~IoHandler() = default;
};

// The queue of functions posted to one loop. Shared with whoever may post
// after the loop is gone (a deferred reply's completion): once closed, posts
// are dropped instead of touching a freed loop or a closed eventfd.
class Mailbox {
 public:
  explicit Mailbox(int wakefd) : wakefd_(wakefd) {}
  // Queues `fn` for the loop's thread; false (fn dropped) once closed.
  bool Post(std::function<void()> fn);

 private:
  friend class EventLoop;
  // Moves what was posted into `into` (cleared first).
  void Take(std::vector<std::function<void()>>& into);
  std::vector<std::function<void()>> Close();

  Mutex mu_;
  bool open_ GUARDED_BY(mu_) = true;
  int wakefd_;
  std::vector<std::function<void()>> posted_ GUARDED_BY(mu_);
};

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;

  // Errors: the epoll set or the eventfd cannot be created (out of fds).
  static StatusOr<std::unique_ptr<EventLoop>> Create(uint32_t busy_poll_us);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Adds `fd` with `events` (EPOLL* flags); `handler` must outlive the watch.
  bool Watch(int fd, uint32_t events, IoHandler* handler);
  void Unwatch(int fd);

  bool Post(std::function<void()> fn) { return mailbox_->Post(std::move(fn)); }
  const std::shared_ptr<Mailbox>& mailbox() const { return mailbox_; }
  // Runs `fn` every `period` on the loop's thread, from one period on.
  void Every(std::chrono::milliseconds period, std::function<void()> fn);
  // Runs `fn` after every round, once its events, posts and timers ran.
  void OnRoundEnd(std::function<void()> fn) { round_end_.push_back(std::move(fn)); }
  // Runs `fn` when Quit() is called (a driving reactor stops there).
  void OnQuit(std::function<void()> fn) { quit_.push_back(std::move(fn)); }
  // Runs `fn` once, at the end of the current round (before the OnRoundEnd
  // functions): work a round produced piece by piece, done once for all of
  // it. From the loop's thread only.
  void AtRoundEnd(std::function<void()> fn) { once_.push_back(std::move(fn)); }
  // The loop whose Run() or Poll() is on this thread's stack; null on any
  // other thread.
  static EventLoop* Current();

  // Waits for and handles events until Quit().
  void Run();
  // Handles what is ready now, without blocking (the embedded mode).
  void Poll();
  // Ends Run() after the current event and runs the OnQuit functions.
  void Quit();
  // Refuses further posts and runs those still queued on the calling
  // thread; for after the loop's thread ended.
  void CloseMailbox();

  // The epoll set: readable while events are ready (for an embedding reactor).
  int fd() const { return epfd_; }
  // Steady seconds at the start of the current round.
  int64_t now_s() const { return now_s_; }

 private:
  struct Timer {
    Clock::time_point next;
    std::chrono::milliseconds period;
    std::function<void()> fn;
  };

  EventLoop(int epfd, int wakefd, uint32_t busy_poll_us);
  void Dispatch(const epoll_event* events, int n);
  void RunPosted();
  void RunTimers(Clock::time_point now);
  void EndRound();
  int Timeout(Clock::time_point now) const;  // for epoll_wait, in ms

  int epfd_;
  int wakefd_;
  std::shared_ptr<Mailbox> mailbox_;
  std::chrono::microseconds busy_poll_;
  std::vector<Timer> timers_;
  std::vector<std::function<void()>> taken_;  // RunPosted's, reused across rounds
  std::vector<std::function<void()>> round_end_;
  std::vector<std::function<void()>> once_;  // AtRoundEnd's, for this round
  std::vector<std::function<void()>> quit_;
  int64_t now_s_ = 0;
  bool running_ = true;
  char wake_tag_ = 0;  // epoll data of wakefd_
};

}  // namespace ringkv::net
