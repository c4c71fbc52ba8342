// ConfigWatcher: re-reads the router's YAML config file when it changes and
// applies the live settings whose value changed since the last applied
// config — vnodes (a migration), health, log level, and the node list (adds
// and removals through NodeChanges). A setting the file did not change is
// left alone, so a reload never undoes a PUT /config, an API add/remove or a
// command-line flag. A ring change that must wait for a running migration is
// kept pending and retried every poll until applied.
//
// Command-line flags (RouterOptions::overrides) win over the file on every
// reload. An invalid file is logged and the running config kept.
//
// Thread safety: Reload may be called from any thread (SIGHUP, the HTTP API)
// while the poll thread runs; reloads are serialized.
#pragma once

#include <cstdint>
#include <optional>

#include "base/periodic_task.h"
#include "base/thread_annotations.h"
#include "router/router_options.h"

namespace ringkv::router {

class LiveSettings;
class MapOwner;
class Migrator;
class NodeChanges;

class ConfigWatcher {
 public:
  // `options`: the config as applied at start-up (file + flags). None of the
  // references is owned; all must outlive the watcher.
  ConfigWatcher(const RouterOptions& options, MapOwner& map_owner, Migrator& migrator,
                NodeChanges& nodes, LiveSettings& settings);
  ~ConfigWatcher() { Stop(); }

  // Polls the file every config_poll_ms; idle without a config path.
  void Start();
  void Stop() { task_.Stop(); }
  // Re-reads the file now and applies what changed.
  void Reload();

 private:
  void Poll();
  void ApplyLive(const RouterOptions& next) REQUIRES(mu_);
  bool ApplyConsistency(const RouterOptions& next) REQUIRES(mu_);

  const RouterOptions options_;  // as started: the path, the poll interval, the flags
  MapOwner& map_owner_;
  Migrator& migrator_;
  NodeChanges& nodes_;
  LiveSettings& settings_;
  Mutex mu_;
  int64_t mtime_ns_ GUARDED_BY(mu_) = -1;
  RouterOptions applied_ GUARDED_BY(mu_);                 // the file + flags as last applied
  std::optional<RouterOptions> pending_ GUARDED_BY(mu_);  // a reload that waits for a migration
  PeriodicTask task_;                                     // last: its thread uses the rest
};

}  // namespace ringkv::router
