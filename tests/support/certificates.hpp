// Test support: a throw-away CA with a server and a client certificate, made with openssl.
#pragma once

#include <string>

namespace polaris::test {

/// Writes into `dir`: ca.pem/ca.key (the CA), server.pem/server.key (CN and subjectAltName
/// 127.0.0.1, no key usage restrictions, so it also serves as a route's client certificate) and
/// client.pem/client.key, all signed by the CA and valid for a day.
/// @throws Error(Errc::process) when openssl fails.
void make_certificates(const std::string& dir);

}  // namespace polaris::test
