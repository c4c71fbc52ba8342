# ringkv_node_core: Redis command semantics over store::Engine, and node metrics
# (owned with commands.*, metrics.*).
add_library(ringkv_node_core ${CMAKE_CURRENT_LIST_DIR}/commands.cc ${CMAKE_CURRENT_LIST_DIR}/metrics.cc)
target_link_libraries(ringkv_node_core PUBLIC ringkv_store ringkv_resp ringkv_base)
ringkv_test(node_commands_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/commands_test.cc LIBS ringkv_node_core)
