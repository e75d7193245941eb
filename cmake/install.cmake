# Installation and the CMake package: find_package(polaris) then link polaris::polaris.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS polaris EXPORT polaris-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS polaris_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/polaris DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
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
