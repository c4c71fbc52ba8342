# ringkv_proxy: route tables and the RESP proxy (owned with proxy.*, route_table.*, internal/proxy_*).
find_package(Boost REQUIRED)
find_package(Threads REQUIRED)
add_library(ringkv_proxy ${CMAKE_CURRENT_LIST_DIR}/route_table.cc ${CMAKE_CURRENT_LIST_DIR}/proxy.cc)
target_link_libraries(ringkv_proxy PUBLIC ringkv_cluster ringkv_resp ringkv_ring ringkv_base
  PRIVATE Boost::headers Threads::Threads)
ringkv_test(router_proxy_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/proxy_test.cc LIBS ringkv_proxy)
