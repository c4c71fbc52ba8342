#include "net/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace ringkv::net {

namespace {

constexpr int kMaxEvents = 256;

int64_t SecondsOf(EventLoop::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

bool Mailbox::Post(std::function<void()> fn) {
  MutexLock lock(mu_);
  if (!open_) return false;
  // Only the first post since the loop's last Take wakes it: the loop reads
  // the eventfd before it takes (RunPosted), so a burst of posts from one
  // round of another thread costs one write and one wake-up.
  const bool wake = posted_.empty();
  posted_.push_back(std::move(fn));
  if (wake) {
    uint64_t one = 1;
    ssize_t r = ::write(wakefd_, &one, sizeof one);
    (void)r;
  }
  return true;
}

void Mailbox::Take(std::vector<std::function<void()>>& into) {
  into.clear();
  MutexLock lock(mu_);
  posted_.swap(into);  // both vectors keep their capacity: no regrowth per round
}

std::vector<std::function<void()>> Mailbox::Close() {
  MutexLock lock(mu_);
  open_ = false;
  return std::exchange(posted_, {});
}

StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create(uint32_t busy_poll_us) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  int wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd < 0 || wakefd < 0) {
    std::string why = std::strerror(errno);
    if (epfd >= 0) ::close(epfd);
    if (wakefd >= 0) ::close(wakefd);
    return Unavailable("cannot create an epoll set: " + why);
  }
  std::unique_ptr<EventLoop> loop(new EventLoop(epfd, wakefd, busy_poll_us));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &loop->wake_tag_;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) != 0) {
    return Unavailable(std::string("cannot watch the eventfd: ") + std::strerror(errno));
  }
  return loop;
}

EventLoop::EventLoop(int epfd, int wakefd, uint32_t busy_poll_us)
    : epfd_(epfd),
      wakefd_(wakefd),
      mailbox_(std::make_shared<Mailbox>(wakefd)),
      busy_poll_(busy_poll_us),
      now_s_(SecondsOf(Clock::now())) {}

EventLoop::~EventLoop() {
  mailbox_->Close();  // a completion that outlives the loop finds it closed
  ::close(epfd_);
  ::close(wakefd_);
}

bool EventLoop::Watch(int fd, uint32_t events, IoHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void EventLoop::Unwatch(int fd) {
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::Every(std::chrono::milliseconds period, std::function<void()> fn) {
  Post([this, period, fn = std::move(fn)]() mutable {
    timers_.push_back(Timer{Clock::now() + period, period, std::move(fn)});
  });
}

namespace {
thread_local EventLoop* current_loop = nullptr;

// Marks `loop` as the thread's current loop for a scope.
class CurrentLoop {
 public:
  explicit CurrentLoop(EventLoop* loop) : saved_(current_loop) { current_loop = loop; }
  ~CurrentLoop() { current_loop = saved_; }
  CurrentLoop(const CurrentLoop&) = delete;
  CurrentLoop& operator=(const CurrentLoop&) = delete;

 private:
  EventLoop* saved_;
};
}  // namespace

EventLoop* EventLoop::Current() {
  return current_loop;
}

void EventLoop::EndRound() {
  // A one-shot function may register another: run until none is left.
  while (!once_.empty()) {
    std::vector<std::function<void()>> once;
    once.swap(once_);
    for (auto& fn : once) fn();
  }
  for (auto& fn : round_end_) fn();
}

void EventLoop::Run() {
  const CurrentLoop current(this);
  epoll_event events[kMaxEvents];
  Clock::time_point poll_until;  // before it, epoll_wait does not sleep
  while (running_) {
    auto now = Clock::now();
    int timeout = now < poll_until ? 0 : Timeout(now);
    int n = epoll_wait(epfd_, events, kMaxEvents, timeout);
    if (n < 0 && errno != EINTR) break;
    now = Clock::now();
    if (n > 0) poll_until = now + busy_poll_;
    now_s_ = SecondsOf(now);
    Dispatch(events, n);
    if (!timers_.empty()) RunTimers(Clock::now());
    EndRound();
  }
}

void EventLoop::Poll() {
  const CurrentLoop current(this);
  epoll_event events[kMaxEvents];
  for (;;) {
    int n = epoll_wait(epfd_, events, kMaxEvents, 0);
    const auto now = Clock::now();  // the only clock read of a round without timers
    now_s_ = SecondsOf(now);
    Dispatch(events, n);
    if (!timers_.empty()) RunTimers(now);
    EndRound();
    if (n < kMaxEvents) break;
  }
}

void EventLoop::Dispatch(const epoll_event* events, int n) {
  for (int i = 0; i < n && running_; ++i) {
    void* p = events[i].data.ptr;
    if (p == &wake_tag_) {
      RunPosted();
    } else {
      static_cast<IoHandler*>(p)->OnIoEvents(events[i].events);
    }
  }
}

void EventLoop::Quit() {
  running_ = false;
  timers_.clear();
  for (auto& fn : quit_) fn();
}

void EventLoop::CloseMailbox() {
  for (auto& fn : mailbox_->Close()) fn();
  EndRound();
}

void EventLoop::RunPosted() {
  uint64_t n;
  ssize_t r = ::read(wakefd_, &n, sizeof n);
  (void)r;
  // Index loop into a member: a posted function may post again (to the
  // mailbox, not to `taken_`), and nothing reenters RunPosted.
  mailbox_->Take(taken_);
  for (auto& fn : taken_) fn();
  taken_.clear();
}

void EventLoop::RunTimers(Clock::time_point now) {
  // Index loop: a timer's fn may add timers.
  for (size_t i = 0; i < timers_.size() && running_; ++i) {
    if (timers_[i].next > now) continue;
    timers_[i].next = now + timers_[i].period;
    auto fn = timers_[i].fn;  // copy: the vector may grow
    fn();
  }
}

int EventLoop::Timeout(Clock::time_point now) const {
  if (timers_.empty()) return -1;
  auto next = timers_.front().next;
  for (const auto& t : timers_) next = std::min(next, t.next);
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1000));
}

}  // namespace ringkv::net
