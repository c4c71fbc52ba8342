#include "worker/worker_settings.h"

#include "worker/work_item.h"

namespace ringkv::worker {

namespace {

using settings::Bind;
using settings::Duration;
using settings::OneOf;
using settings::String;
using settings::Uint;
using O = WorkerOptions;

std::vector<settings::Setting<O>> Rows() {
  return {
      Bind("router", &O::router, String{.normalize = RouterAddrFromUrl},
           "the router's HTTP address, host:port or http://host:port (HTTPS: router_tls_*)"),
      Bind("threads", &O::threads, Uint{.max = 1024}, "jobs computed at once"),
      Bind("idle_exit", &O::idle_exit_ms, Duration{},
           "leave after this long without work (e.g. 30s, 10m; 0 = never)"),
      Bind("id", &O::id, String{}, "worker id; empty = worker-<hostname>-<pid>"),
      Bind("lease_ms", &O::lease_ms, Uint{},
           "renew leases every lease-ms/3; 0 = the router's lease"),
      Bind("router_tls_ca_cert_file", &O::router_tls, &net::TlsClientOptions::ca_cert_file,
           String{}, "HTTPS to the router: the CA its certificate must chain to; empty = HTTP"),
      Bind("router_tls_cert_file", &O::router_tls, &net::TlsClientOptions::cert_file, String{},
           "PEM certificate presented to an HTTPS router that asks for one"),
      Bind("router_tls_key_file", &O::router_tls, &net::TlsClientOptions::key_file, String{},
           "PEM private key of router_tls_cert_file"),
      Bind("password_file", &O::password_file, String{},
           "file (mode 0600) holding the router's requirepass; else env RINGKV_REQUIREPASS"),
      Bind("ports_file", &O::ports_file, String{}, "write {\"pid\", \"id\"} here once running"),
      Bind("log_level", &O::log_level, OneOf{settings::kLogLevels},
           "trace, debug, info, warn, error, critical or off"),
  };
}

}  // namespace

const settings::Table<WorkerOptions>& WorkerSettings() {
  static const settings::Table<WorkerOptions> table("worker", Rows());
  return table;
}

}  // namespace ringkv::worker
