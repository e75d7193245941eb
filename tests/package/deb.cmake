# Builds the Debian package from the existing build tree (no rebuild), checks its contents, and
# runs the program unpacked with dpkg-deb -x. Variables: BUILD_DIR, WORK_DIR (scratch).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
execute_process(COMMAND cpack -G DEB -B ${WORK_DIR} --config ${BUILD_DIR}/CPackConfig.cmake
                WORKING_DIRECTORY ${BUILD_DIR} RESULT_VARIABLE result OUTPUT_VARIABLE out
                ERROR_VARIABLE out)
if(result)
  message(FATAL_ERROR "cpack failed: ${out}")
endif()
file(GLOB deb ${WORK_DIR}/polaris_*.deb)
if(NOT deb)
  message(FATAL_ERROR "no package in ${WORK_DIR}: ${out}")
endif()
execute_process(COMMAND dpkg-deb -c ${deb} OUTPUT_VARIABLE contents RESULT_VARIABLE result)
foreach(file ./usr/bin/polaris ./usr/include/polaris/polaris.hpp
             ./usr/lib/cmake/polaris/polaris-config.cmake ./usr/share/man/man1/polaris.1
             ./usr/share/bash-completion/completions/polaris
             ./usr/share/zsh/vendor-completions/_polaris
             ./usr/share/fish/vendor_completions.d/polaris.fish
             ./usr/lib/systemd/system/polaris-registry@.service)
  string(FIND "${contents}" " ${file}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "not in the package: ${file}\n${contents}")
  endif()
endforeach()
if(NOT contents MATCHES " \\./usr/lib/[^ \n]*libpolaris")
  message(FATAL_ERROR "the library is not in the package\n${contents}")
endif()
execute_process(COMMAND dpkg-deb -I ${deb} OUTPUT_VARIABLE info)
if(NOT info MATCHES "postinst")
  message(FATAL_ERROR "no postinst (the polaris user)\n${info}")
endif()
execute_process(COMMAND dpkg-deb -x ${deb} ${WORK_DIR}/root RESULT_VARIABLE result)
execute_process(COMMAND ${WORK_DIR}/root/usr/bin/polaris version OUTPUT_VARIABLE version
                RESULT_VARIABLE result)
if(result OR NOT version MATCHES "^polaris ")
  message(FATAL_ERROR "the unpacked program does not run: ${version}")
endif()
file(READ ${WORK_DIR}/root/usr/lib/systemd/system/polaris-registry@.service unit)
if(NOT unit MATCHES "ExecStart=/usr/bin/polaris registry --config /etc/polaris/%i.yaml" OR
   NOT unit MATCHES "User=polaris")
  message(FATAL_ERROR "unexpected unit:\n${unit}")
endif()
# The unit itself: systemd-analyze verify, and its ExecStart run as an unprivileged user.
execute_process(COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/systemd_unit.sh ${WORK_DIR}/root
                        ${WORK_DIR}/unit
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
message(STATUS "${out}")
if(result)
  message(FATAL_ERROR "the systemd unit check failed")
endif()
