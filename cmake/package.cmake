# The Debian package (cpack -G DEB in the build tree): the program, the library, headers and
# CMake config, the man page, the completions, and polaris-registry@.service.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/polaris-registry@.service
        DESTINATION lib/systemd/system)
set(CPACK_PACKAGE_NAME polaris)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "polaris maintainers <polaris@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Distributed AI agents over NATS: registry, CLI and C++ library")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "nats-server")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/postinst)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Fast to build (CI): gzip rather than xz.
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)
include(CPack)
