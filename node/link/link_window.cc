#include "node/link/link_window.h"

#include <iterator>

#include "node/link/link_frame.h"

namespace ringkv::node {

bool LinkWindow::Admit(LinkRequest& r) {
  const uint64_t size = r.body.size();
  if (!queue_.empty()) {
    const size_t free_slots =
        limits_.window > inflight_count_ ? limits_.window - inflight_count_ : 0;
    const uint64_t free_bytes =
        limits_.window_bytes > inflight_bytes_ ? limits_.window_bytes - inflight_bytes_ : 0;
    if (queue_.size() >= limits_.queue + free_slots) return false;
    if (queued_bytes_ + size > limits_.queue_bytes + free_bytes) return false;
  }
  queued_bytes_ += size;
  queue_.push_back(std::move(r));
  return true;
}

bool LinkWindow::WindowFull(uint64_t next_bytes) const {
  return inflight_count_ >= limits_.window ||
         (inflight_count_ > 0 && inflight_bytes_ + next_bytes > limits_.window_bytes);
}

size_t LinkWindow::Fill(std::string& out, int64_t unix_offset_ms) {
  size_t moved = 0;
  while (!queue_.empty() && !WindowFull(queue_.front().body.size())) {
    // The run of requests of the front's epoch that fits the window.
    const uint64_t epoch = queue_.front().epoch;
    size_t count = 0;
    uint64_t bulks = 0;
    size_t sim_count = inflight_count_;
    uint64_t sim_bytes = inflight_bytes_;
    for (const LinkRequest& r : queue_) {
      const uint64_t size = r.body.size();
      const bool full =
          sim_count >= limits_.window || (sim_count > 0 && sim_bytes + size > limits_.window_bytes);
      if (r.epoch != epoch || full) break;
      ++count;
      ++sim_count;
      sim_bytes += size;
      bulks += r.bulks;
    }
    // Deadlines do not decrease in the queue: the first is the batch's.
    AppendLinkBatchHead(out, epoch, next_seq(), queue_.front().deadline_ms + unix_offset_ms, bulks);
    for (size_t i = 0; i < count; ++i) {
      LinkRequest& r = queue_.front();
      const uint64_t size = r.body.size();
      out.append(r.body);
      slots_.push_back(Slot{std::move(r.done), size, r.deadline_ms});
      ++inflight_count_;
      inflight_bytes_ += size;
      queued_bytes_ -= size;
      queue_.pop_front();
    }
    moved += count;
  }
  return moved;
}

LinkWindow::Completed LinkWindow::Complete(uint64_t seq) {
  if (seq < base_seq_ || seq >= next_seq()) return {};
  Slot& slot = slots_[seq - base_seq_];
  if (!slot.done) return {};
  Completed c{std::move(slot.done), slot.deadline_ms};
  slot.done = nullptr;
  --inflight_count_;
  inflight_bytes_ -= slot.bytes;
  PopAnswered();
  return c;
}

void LinkWindow::PopAnswered() {
  while (!slots_.empty() && !slots_.front().done) {
    slots_.pop_front();
    ++base_seq_;
  }
}

std::vector<LinkCallback> LinkWindow::Expire(int64_t now_ms) {
  std::vector<LinkCallback> expired;
  // Deadlines do not decrease in the order of Admit, which is the order of
  // sequence numbers and of the queue: stop at the first one still due later.
  for (Slot& slot : slots_) {
    if (!slot.done) continue;
    if (slot.deadline_ms > now_ms) break;
    expired.push_back(std::move(slot.done));
    slot.done = nullptr;
    --inflight_count_;
    inflight_bytes_ -= slot.bytes;
  }
  PopAnswered();
  while (!queue_.empty() && queue_.front().deadline_ms <= now_ms) {
    expired.push_back(std::move(queue_.front().done));
    queued_bytes_ -= queue_.front().body.size();
    queue_.pop_front();
  }
  return expired;
}

std::vector<LinkCallback> LinkWindow::TakeInflight() {
  std::vector<LinkCallback> taken;
  taken.reserve(inflight_count_);
  for (Slot& slot : slots_) {
    if (slot.done) taken.push_back(std::move(slot.done));
  }
  base_seq_ += slots_.size();
  slots_.clear();
  inflight_count_ = 0;
  inflight_bytes_ = 0;
  return taken;
}

std::vector<LinkRequest> LinkWindow::TakeQueued() {
  std::vector<LinkRequest> taken(std::make_move_iterator(queue_.begin()),
                                 std::make_move_iterator(queue_.end()));
  queue_.clear();
  queued_bytes_ = 0;
  return taken;
}

}  // namespace ringkv::node
