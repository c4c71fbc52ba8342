// `ringkv job ...`: client commands for the router's job API (docs/jobs.md).
// Each is a plain function over an args struct; main.cc maps flags onto the
// fields.
//
// Exit codes: 0 ok, 1 failure (router unreachable, unknown job, router
// error), 2 bad arguments (also when the router refuses them with a 4xx:
// bad iterations, payload too large). Results go to `out`, errors to `err`.
#pragma once

#include <iosfwd>
#include <string>

namespace ringkv::cli {

// `ringkv job enqueue --iterations N [--algorithm sha512|sha256] [--router URL] [--json] FILE|-`
// PUT /enqueue with FILE's bytes ("-" = stdin) as the payload; prints the work_id.
struct JobEnqueueArgs {
  std::string file;                              // positional: payload file, "-" = stdin
  std::string iterations;                        // --iterations: decimal >= 1 (required)
  std::string algorithm = "sha512";              // --algorithm: sha512 or sha256
  std::string router = "http://127.0.0.1:8080";  // --router
  bool json = false;                             // --json: print the router's JSON answer
};
int RunJobEnqueue(const JobEnqueueArgs& args, std::istream& in, std::ostream& out,
                  std::ostream& err);

// `ringkv job status ID [--router URL] [--json]`
// GET /jobs/{id}; prints "state: ..." and "output: ..." lines (and the other
// fields), or the JSON answer with --json.
struct JobStatusArgs {
  std::string id;                                // positional: the work_id
  std::string router = "http://127.0.0.1:8080";  // --router
  bool json = false;                             // --json
};
int RunJobStatus(const JobStatusArgs& args, std::ostream& out, std::ostream& err);

// `ringkv job pull [--top N] [--router URL] [--json]`
// POST /pullCompleted?top=N: the oldest completions not pulled before, each
// once; prints "<work_id> <output>" lines, or the JSON answer with --json.
struct JobPullArgs {
  uint32_t top = 10;                             // --top: 1..10000
  std::string router = "http://127.0.0.1:8080";  // --router
  bool json = false;                             // --json
};
int RunJobPull(const JobPullArgs& args, std::ostream& out, std::ostream& err);

}  // namespace ringkv::cli
