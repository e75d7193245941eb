# Installs the pinned npm test peers of SOURCE_DIR (package.json + package-lock.json) into
# PEERS_DIR with `npm ci`; run by the CTest fixture of polaris_npm_peers() (tests/CMakeLists.txt).
# Re-runs only when package-lock.json changed. Fails (never skips) when npm or the registry is missing.
file(MAKE_DIRECTORY ${PEERS_DIR})
set(stamp ${PEERS_DIR}/node_modules/.polaris-stamp)
file(SHA256 ${SOURCE_DIR}/package-lock.json lock_hash)
if(EXISTS ${stamp})
  file(READ ${stamp} old_hash)
  if(old_hash STREQUAL lock_hash)
    return()
  endif()
endif()
configure_file(${SOURCE_DIR}/package.json ${PEERS_DIR}/package.json COPYONLY)
configure_file(${SOURCE_DIR}/package-lock.json ${PEERS_DIR}/package-lock.json COPYONLY)
find_program(NPM npm REQUIRED)
execute_process(COMMAND ${NPM} ci --no-audit --no-fund WORKING_DIRECTORY ${PEERS_DIR}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "npm ci of the test peers of ${SOURCE_DIR} failed (${rc})")
endif()
file(WRITE ${stamp} ${lock_hash})
