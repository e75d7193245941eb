#include "support/certificates.hpp"

#include <fstream>
#include <vector>

#include "polaris/error.hpp"
#include "process/child_process.hpp"
#include "support/run_program.hpp"

namespace polaris::test {

void make_certificates(const std::string& dir) {
  const std::vector<std::vector<std::string>> commands = {
      {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
       "/CN=polaris test CA", "-keyout", dir + "/ca.key", "-out", dir + "/ca.pem"},
      {"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
       dir + "/server.key", "-out", dir + "/server.csr"},
      {"openssl", "x509", "-req", "-in", dir + "/server.csr", "-CA", dir + "/ca.pem", "-CAkey",
       dir + "/ca.key", "-CAcreateserial", "-days", "1", "-extfile", dir + "/san.ext", "-out",
       dir + "/server.pem"},
      {"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=polaris client", "-keyout",
       dir + "/client.key", "-out", dir + "/client.csr"},
      {"openssl", "x509", "-req", "-in", dir + "/client.csr", "-CA", dir + "/ca.pem", "-CAkey",
       dir + "/ca.key", "-CAcreateserial", "-days", "1", "-out", dir + "/client.pem"},
  };
  std::ofstream(dir + "/san.ext") << "subjectAltName=IP:127.0.0.1\n";
  const std::string openssl = detail::find_executable("openssl");
  if (openssl.empty()) throw Error(Errc::process, "openssl is not installed");
  for (auto command : commands) {
    command[0] = openssl;
    const auto result = run_program(command);
    if (result.exit_code != 0) {
      throw Error(Errc::process, "openssl " + command[1] + " failed: " + result.err);
    }
  }
}

}  // namespace polaris::test
