// PeriodicTask: one background thread that runs a body every interval until
// stopped — the one loop behind the router's health checker, config watcher
// and autoscaler, and the node's joiner and arc dropper.
//
// The interval is asked for before every wait, so a live setting (the health
// interval after PUT /config) takes effect at the next round. Wake() runs the
// body at once instead of at the end of the wait. Stop() wakes the thread,
// waits for a body under way to return and joins; the body is never called
// after Stop() returns. A body that wants to end the task early returns
// false; the task may then be started again.
//
// Thread safety: Start and Stop from one owner thread; Wake and stopping()
// from any thread, including the body.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "base/thread_annotations.h"

namespace ringkv {

class PeriodicTask {
 public:
  using Interval = std::function<std::chrono::milliseconds()>;
  // Returns false to end the task.
  using Body = std::function<bool()>;

  PeriodicTask() = default;
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;
  ~PeriodicTask() { Stop(); }

  // Starts the thread: it waits one interval, runs `body`, and again.
  // `run_first`: run the body once before the first wait. Ignored while running;
  // after Stop() or after the body ended the task, starts it anew.
  void Start(Interval interval, Body body, bool run_first = false);
  void Start(std::chrono::milliseconds interval, Body body, bool run_first = false) {
    Start([interval] { return interval; }, std::move(body), run_first);
  }
  // Ends the current wait early (the body runs now), or the next one if the
  // body is running.
  void Wake();
  // Idempotent.
  void Stop();
  // Whether Stop has been asked for: a long body checks it between steps.
  bool stopping() const;
  // Started and neither stopped nor ended by its body.
  bool running() const;

 private:
  void Loop(const Interval& interval, const Body& body, bool run_first);

  mutable Mutex mu_;
  CondVar cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  bool woken_ GUARDED_BY(mu_) = false;
  bool ended_ GUARDED_BY(mu_) = false;  // the loop has returned
  std::thread thread_;
};

}  // namespace ringkv
