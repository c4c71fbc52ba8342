#include "cli/cluster_tls.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <tuple>
#include <utility>

#include "base/secret.h"

namespace ringkv::cli {
namespace {

namespace fs = std::filesystem;

constexpr long kCaDays = 3650;
constexpr long kLeafDays = 825;
constexpr char kSubjectAltName[] = "IP:127.0.0.1,IP:::1,DNS:localhost";

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using Bio = std::unique_ptr<BIO, Free>;

// A CA's certificate and key, loaded or just made.
struct Authority {
  Cert cert;
  Key key;
};

Status OpenSslError(const std::string& what) {
  return Internal("OpenSSL could not " + what);
}

// One X.509 v3 extension, with `issuer` (and `subject`) as its context.
bool AddExtension(X509* subject, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, subject, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(subject, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key` named `cn`, valid `days`, with a random serial;
// signed by `issuer` (nullptr: self-signed, a CA).
StatusOr<Cert> MakeCert(const std::string& cn, EVP_PKEY* key, const Authority* issuer, long days) {
  Cert cert(X509_new());
  std::unique_ptr<BIGNUM, Free> serial(BN_new());
  if (!cert || !serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return OpenSslError("start a certificate for " + cn);
  }
  X509_set_version(cert.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // a clock a little behind
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 86400);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("ringkv"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer ? issuer->cert.get() : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  X509_set_pubkey(cert.get(), key);
  bool ok = AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (issuer == nullptr) {
    ok = ok && AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE") &&
         AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE") &&
         AddExtension(cert.get(), signer, NID_key_usage, "critical,digitalSignature") &&
         AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth") &&
         AddExtension(cert.get(), signer, NID_subject_alt_name, kSubjectAltName) &&
         AddExtension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  }
  EVP_PKEY* signing_key = issuer ? issuer->key.get() : key;
  if (!ok || X509_sign(cert.get(), signing_key, EVP_sha256()) == 0) {
    return OpenSslError("sign the certificate of " + cn);
  }
  return cert;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

Status WriteCert(const std::string& path, X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return OpenSslError("encode " + path);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << BioText(bio.get());
  out.close();
  if (!out) return Unavailable("cannot write " + path);
  return OkStatus();
}

Status WriteKey(const std::string& path, EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return OpenSslError("encode " + path);
  std::string pem = BioText(bio.get());
  if (!pem.empty() && pem.back() == '\n') pem.pop_back();  // WriteSecretFile adds it back
  return WriteSecretFile(path, pem);                       // mode 0600 from the start
}

// Makes a key and a certificate for `name` (a CA when `issuer` is null)
// and writes them as <dir>/<name>.crt and .key.
StatusOr<Authority> Issue(const std::string& dir, const std::string& name, const std::string& cn,
                          const Authority* issuer) {
  Key key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("generate a key for " + cn);
  auto cert = MakeCert(cn, key.get(), issuer, issuer ? kLeafDays : kCaDays);
  if (!cert.ok()) return cert.status();
  const TlsFiles files = TlsFilesOf(dir, name);
  if (Status s = WriteKey(files.key, key.get()); !s.ok()) return s;
  if (Status s = WriteCert(files.cert, cert->get()); !s.ok()) return s;
  return Authority{std::move(*cert), std::move(key)};
}

StatusOr<Authority> LoadAuthority(const std::string& dir) {
  const TlsFiles files = TlsFilesOf(dir, "ca");
  Bio cert_bio(BIO_new_file(files.cert.c_str(), "r"));
  Bio key_bio(BIO_new_file(files.key.c_str(), "r"));
  if (!cert_bio || !key_bio)
    return FailedPrecondition("no CA in " + dir + "; run cluster up --tls");
  Authority ca{Cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)),
               Key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr))};
  if (!ca.cert || !ca.key) return OpenSslError("read the CA in " + dir);
  return ca;
}

Status MakeDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!ec) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) return Unavailable("cannot create " + dir + ": " + ec.message());
  return OkStatus();
}

}  // namespace

std::string ClusterTlsDir(const std::string& run_dir) {
  return (fs::absolute(run_dir) / "tls" / "cluster").string();
}

std::string ClientTlsDir(const std::string& run_dir) {
  return (fs::absolute(run_dir) / "tls" / "clients").string();
}

TlsFiles TlsFilesOf(const std::string& dir, const std::string& name) {
  const fs::path d(dir);
  return {(d / (name + ".crt")).string(), (d / (name + ".key")).string(), (d / "ca.crt").string()};
}

bool HasLocalTls(const std::string& run_dir) {
  return fs::exists(TlsFilesOf(ClusterTlsDir(run_dir), "ca").key);
}

Status RemoveLocalTls(const std::string& run_dir) {
  std::error_code ec;
  fs::remove_all(fs::absolute(run_dir) / "tls", ec);
  if (ec) return Unavailable("cannot remove " + run_dir + "/tls: " + ec.message());
  return OkStatus();
}

Status MakeLocalTls(const std::string& run_dir) {
  if (Status s = RemoveLocalTls(run_dir); !s.ok()) return s;
  for (auto [dir, cn, holder] :
       {std::tuple{ClusterTlsDir(run_dir), "ringkv cluster CA", "operator"},
        std::tuple{ClientTlsDir(run_dir), "ringkv client CA", "client"}}) {
    if (Status s = MakeDir(dir); !s.ok()) return s;
    auto ca = Issue(dir, "ca", cn, nullptr);
    if (!ca.ok()) return ca.status();
    if (auto leaf = Issue(dir, holder, holder, &*ca); !leaf.ok()) return leaf.status();
  }
  return OkStatus();
}

StatusOr<TlsFiles> IssueProcessTls(const std::string& run_dir, const std::string& name) {
  for (const std::string& dir : {ClientTlsDir(run_dir), ClusterTlsDir(run_dir)}) {
    auto ca = LoadAuthority(dir);
    if (!ca.ok()) return ca.status();
    if (auto leaf = Issue(dir, name, name, &*ca); !leaf.ok()) return leaf.status();
  }
  return TlsFilesOf(ClusterTlsDir(run_dir), name);
}

}  // namespace ringkv::cli
