# Installation and the CMake package: find_package(polaris) then link polaris::polaris.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS polaris EXPORT polaris-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS polaris_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/polaris DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The manual page and shell completions (generated in src/cli), where man and the shells look.
set(polaris_share ${PROJECT_BINARY_DIR}/src/cli/share)
install(FILES ${polaris_share}/polaris.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${polaris_share}/polaris.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME polaris)
install(FILES ${polaris_share}/_polaris DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${polaris_share}/polaris.fish
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
install(EXPORT polaris-targets NAMESPACE polaris::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/polaris)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/polaris-config.cmake.in
  ${PROJECT_BINARY_DIR}/polaris-config.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/polaris)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/polaris-config-version.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/polaris-config.cmake
              ${PROJECT_BINARY_DIR}/polaris-config-version.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/polaris)
