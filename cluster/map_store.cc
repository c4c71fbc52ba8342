#include "cluster/map_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

namespace ringkv::cluster {
namespace {

constexpr char kFileName[] = "cluster-map.json";

Status IoError(std::string_view op, const std::string& path, int err) {
  return Internal(std::string(op) + " " + path + ": " + std::strerror(err));
}

// Closes the descriptor on scope exit unless released first.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports close's errno (0 on success); NFS reports write
  // errors only here.
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

// Writes `data` to `path` and makes it durable.
Status WriteDurably(const std::string& path, std::string_view data) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return IoError("open", path, errno);
  if (Status s = WriteAll(fd.get(), data, path); !s.ok()) return s;
  if (::fsync(fd.get()) != 0) return IoError("fsync", path, errno);
  if (int err = fd.Close(); err != 0) return IoError("close", path, err);
  return OkStatus();
}

// Makes a rename inside `dir` durable.
Status SyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("open", dir, errno);
  if (::fsync(fd.get()) != 0) return IoError("fsync", dir, errno);
  return OkStatus();
}

}  // namespace

StatusOr<std::optional<std::string>> ReadFileIfExists(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return IoError("open", path, errno);
  }
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("read", path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return std::optional<std::string>(std::move(out));
}

Status WriteFileDurably(const std::string& dir, const std::string& name, std::string_view content) {
  std::error_code ec;
  bool created = std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("create directory " + dir + ": " + ec.message());
  if (created) {  // make the new directory's own entry durable too
    std::filesystem::path p = std::filesystem::path(dir).lexically_normal();
    if (!p.has_filename()) p = p.parent_path();  // "a/b/" -> "a/b"
    std::string parent = p.parent_path().string();
    if (Status s = SyncDir(parent.empty() ? "." : parent); !s.ok()) return s;
  }
  const std::string path = dir + "/" + name;
  const std::string tmp = path + ".tmp";
  if (Status s = WriteDurably(tmp, content); !s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = IoError("rename " + tmp + " to", path, errno);
    ::unlink(tmp.c_str());
    return s;
  }
  return SyncDir(dir);
}

namespace {

// Not thread-safe: the registry serializes its calls.
class FileMapStore final : public MapStore {
 public:
  explicit FileMapStore(std::string dir) : dir_(std::move(dir)), path_(dir_ + "/" + kFileName) {}

  StatusOr<std::optional<ClusterMap>> Load() override {
    StatusOr<std::optional<std::string>> text = ReadFileIfExists(path_);
    if (!text.ok()) return text.status();
    if (!text->has_value()) return std::optional<ClusterMap>();
    StatusOr<ClusterMap> map = ClusterMapFromJson(**text);
    // Corrupt is an error, never an empty cluster: starting empty would
    // forget every node and reassign all keys.
    if (!map.ok()) return DataLoss(path_ + ": " + map.status().message());
    return std::optional<ClusterMap>(*std::move(map));
  }

  Status Save(const ClusterMap& map) override {
    return WriteFileDurably(dir_, kFileName, ToJson(map) + "\n");
  }

 private:
  const std::string dir_;
  const std::string path_;
};

}  // namespace

std::unique_ptr<MapStore> NewFileMapStore(const std::string& dir) {
  return std::make_unique<FileMapStore>(dir);
}

}  // namespace ringkv::cluster
