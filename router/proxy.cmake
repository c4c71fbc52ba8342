# ringkv_proxy: route tables and the RESP proxy (owned with proxy.*, route_table.*, internal/proxy_*).
find_package(Boost REQUIRED)
find_package(Threads REQUIRED)
add_library(ringkv_proxy
  ${CMAKE_CURRENT_LIST_DIR}/route_table.cc
  ${CMAKE_CURRENT_LIST_DIR}/proxy.cc
  ${CMAKE_CURRENT_LIST_DIR}/internal/proxy_commands.cc
  ${CMAKE_CURRENT_LIST_DIR}/internal/proxy_local.cc
  ${CMAKE_CURRENT_LIST_DIR}/internal/proxy_backend.cc
  ${CMAKE_CURRENT_LIST_DIR}/internal/proxy_client.cc)
target_link_libraries(ringkv_proxy PUBLIC ringkv_cluster ringkv_resp ringkv_ring ringkv_base
  PRIVATE Boost::headers Threads::Threads)
ringkv_test(router_proxy_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/proxy_test.cc LIBS ringkv_proxy)

# proxy_harness: test-only process (not installed) that runs a Proxy over the
# back ends given on its command line, until `ringkv router` wires the proxy
# to the registry. The end-to-end test and bench/router-vs-twemproxy.sh use it.
add_executable(proxy_harness ${CMAKE_CURRENT_LIST_DIR}/internal/proxy_harness_main.cc)
target_link_libraries(proxy_harness PRIVATE ringkv_proxy Threads::Threads)

if(RINGKV_BUILD_TESTS)
  # unittest imports a file path only from inside its working directory.
  add_test(NAME router.proxy
    COMMAND /usr/bin/python3 -m unittest -v ${PROJECT_SOURCE_DIR}/tests/router/test_proxy.py
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(router.proxy PROPERTIES TIMEOUT 300
    ENVIRONMENT "RINGKV_BIN=$<TARGET_FILE:ringkv>;PROXY_HARNESS_BIN=$<TARGET_FILE:proxy_harness>;PYTHONDONTWRITEBYTECODE=1")
endif()
