// Certificates for the net tests' TLS cases, made with the openssl CLI in a
// temporary directory: a "good" and a "rogue" CA, each signing one P-256
// certificate for 127.0.0.1 / localhost that serves as both a server and a
// client certificate. Files: <ca>-ca.crt, <ca>.crt, <ca>.key. Test code only.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace ringkv::net::testing {

class TestPki {
 public:
  // Makes the files under /tmp/<prefix>-XXXXXX; error() says what failed.
  explicit TestPki(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      error_ = "mkdtemp " + tmpl + " failed";
      return;
    }
    dir_ = tmpl;
    std::ofstream(Path("ext.cnf"))
        << "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n";
    for (const std::string ca : {"good", "rogue"}) {
      const std::string sh =
          "(cd " + dir_ + " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256" +
          " -nodes -keyout " + ca + "-ca.key -out " + ca + "-ca.crt -days 1 -subj /CN=" + ca +
          " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + ca +
          ".key -out " + ca + ".csr -subj /CN=" + ca + " && openssl x509 -req -in " + ca +
          ".csr -CA " + ca + "-ca.crt -CAkey " + ca + "-ca.key -CAcreateserial -days 1" +
          " -extfile ext.cnf -out " + ca + ".crt) >/dev/null 2>&1";
      if (std::system(sh.c_str()) != 0) {
        error_ = "failed: " + sh;
        return;
      }
    }
  }
  ~TestPki() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  const std::string& error() const { return error_; }  // empty: every file was made

 private:
  std::string dir_;
  std::string error_;
};

}  // namespace ringkv::net::testing
